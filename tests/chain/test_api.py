"""``/api/v1/chain/`` and ``/api/v1/chain/term/`` over real PostgreSQL and Redis, with
snapshots written in the published ``{prefix}:latest`` format (docs/redis-contract.md)."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # schemathesis brings it (constraints.txt)
import orjson
import pytest
import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from chain.selectors import session_date
from contract.messages import FULL_MODE_FIELDS, INDEX_TICK_FIELDS, OPTION_FIELDS
from contract.names import chain_oi_open_key, latest_key
from greeks.expiry_time import IST
from infra.pool_metrics import redis_pool_figures
from infra.redis_factory import process_redis
from subscriptions.models import Instrument, Subscription, SubscriptionStatus
from tests.subscriptions.factories import InstrumentFactory

pytestmark = pytest.mark.django_db

NIFTY_INDEX = 256265
TODAY = datetime.now(tz=IST).date()
NEAR = TODAY + timedelta(days=9)
FAR = TODAY + timedelta(days=30)
STRIKES = (24000.0, 24050.0, 24100.0, 24150.0, 24200.0)


@pytest.fixture
def api_client() -> APIClient:
    client = APIClient()
    client.force_authenticate(get_user_model().objects.create_user("chain", password="x" * 12))
    return client


def listed(expiry: date, strike: float, kind: str) -> Instrument:
    token = {NEAR: 1_000_000, FAR: 2_000_000}[expiry] + int(strike) * 10 + (kind == "PE")
    symbol = f"NIFTY{expiry:%y%b}{int(strike)}{kind}".upper()
    instrument = InstrumentFactory.create(
        instrument_token=token, tradingsymbol=symbol, strike=strike, expiry=expiry,
        instrument_type=kind,
    )  # fmt: skip
    Subscription.objects.create(instrument=instrument)
    return instrument


# The exchange stamps ticks on its own clock (the simulator's virtual session: days ahead of the
# wall clock here); ages count from received_at, when the worker got the tick (docs/chain.md).
EXCHANGE_CLOCK_AHEAD = 2 * 86400.0


def option_snapshot(
    instrument: Instrument, *, price: float, oi: int, volume: int, iv: float | None,
    delta: float | None, ts: float, bid: float = 0.0, ask: float = 0.0,
) -> bytes:  # fmt: skip
    """An option's ``{prefix}:latest`` value with every published field (full mode)."""
    level = {"quantity": 75, "orders": 1}
    message = {
        "symbol": "NIFTY", "token": instrument.instrument_token,
        "tradingsymbol": instrument.tradingsymbol, "segment": "NFO-OPT", "exchange": "NFO",
        "strike": instrument.strike, "expiry": str(instrument.expiry),
        "type": instrument.instrument_type, "lot_size": 75, "tick_size": 0.05, "price": price,
        "volume": volume, "oi": oi, "iv": iv, "delta": delta,
        "gamma": None if iv is None else 0.001, "theta": None if iv is None else -5.0,
        "vega": None if iv is None else 8.0, "ts": ts + EXCHANGE_CLOCK_AHEAD, "is_mock": True,
        "received_at": ts,
        "rho": None if iv is None else 1.0, "underlying_price": 24110.0,
        "iv_error": None if iv is not None else "below_intrinsic",
        "depth": {"buy": [{**level, "price": bid}] + [{**level, "price": 0.0}] * 4,
                  "sell": [{**level, "price": ask}] + [{**level, "price": 0.0}] * 4},
        "total_buy_quantity": 750, "total_sell_quantity": 900,
    }  # fmt: skip
    assert set(message) == OPTION_FIELDS | FULL_MODE_FIELDS
    return orjson.dumps(message)


def index_snapshot(price: float, ts: float) -> bytes:
    message = {"symbol": "NIFTY 50", "token": NIFTY_INDEX, "price": price,
               "ts": ts + EXCHANGE_CLOCK_AHEAD, "received_at": ts, "is_mock": True}  # fmt: skip
    assert set(message) == INDEX_TICK_FIELDS
    return orjson.dumps(message)


# C - P at 24050 and 24100 and 24150: the forward by parity (rate 0.10, ~9 days) is near 24120.
CALLS = {24000.0: 160.0, 24050.0: 125.0, 24100.0: 95.0, 24150.0: 70.0, 24200.0: 50.0}
PUTS = {24000.0: 45.0, 24050.0: 60.0, 24100.0: 78.0, 24150.0: 102.0}  # no 24200 put listed
CE_OI = {24000.0: 100, 24050.0: 200, 24100.0: 300, 24150.0: 400, 24200.0: 500}
PE_OI = {24000.0: 500, 24050.0: 400, 24100.0: 300, 24150.0: 100}


@pytest.fixture
def nifty_chain(redis_client: redis.Redis) -> dict[str, Instrument]:
    now = time.time()
    values: dict[str, bytes] = {str(NIFTY_INDEX): index_snapshot(24110.0, now - 0.5)}
    made: dict[str, Instrument] = {}
    for strike in STRIKES:
        ce = listed(NEAR, strike, "CE")
        made[ce.tradingsymbol] = ce
        values[str(ce.instrument_token)] = option_snapshot(
            ce, price=CALLS[strike], oi=CE_OI[strike], volume=10, iv=0.12, delta=0.5, ts=now - 1,
            bid=CALLS[strike] - 0.5, ask=CALLS[strike] + 0.5,
        )  # fmt: skip
        if strike in PUTS:
            pe = listed(NEAR, strike, "PE")
            made[pe.tradingsymbol] = pe
            values[str(pe.instrument_token)] = option_snapshot(
                pe, price=PUTS[strike], oi=PE_OI[strike], volume=30, iv=0.14, delta=-0.5,
                ts=now - 1,
            )  # fmt: skip
    far = listed(FAR, 24100.0, "CE")  # the next expiry, never ticked
    made[far.tradingsymbol] = far
    pipe = redis_client.pipeline()
    for field, value in values.items():
        pipe.hset(latest_key(settings.TICKER_CHANNEL_PREFIX), field, value)
    pipe.execute()
    return made


def test_the_chain_of_the_nearest_expiry(api_client, nifty_chain):
    response = api_client.get("/api/v1/chain/", {"underlying": "NIFTY"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["underlying"] == "NIFTY" and body["expiry"] == NEAR.isoformat()
    assert body["expiries"] == [NEAR.isoformat(), FAR.isoformat()]
    assert body["spot"]["price"] == 24110.0 and body["spot"]["stale"] is False
    assert body["forward_source"] == "parity"
    assert 24100 < body["forward"] < 24140
    assert body["atm_strike"] == 24100.0
    assert [row["strike"] for row in body["rows"]] == list(STRIKES)
    assert [row["is_atm"] for row in body["rows"]] == [False, False, True, False, False]
    assert body["straddle"] == pytest.approx(95.0 + 78.0)
    assert body["atm_iv"] == pytest.approx(0.13)
    assert body["pcr_oi"] == pytest.approx(1300 / 1500)
    assert body["pcr_volume"] == pytest.approx(120 / 50)
    # Writers' payout: at 24050 calls 100*50 + puts 300*50 + 100*100 = 30,000; at 24100
    # calls 100*100 + 200*50 + puts 100*50 = 25,000 (the least); at 24150 50,000.
    assert body["max_pain"] == 24100.0
    assert body["risk_reversal_25d"] is None  # every delta is +-0.5: 25 delta not bracketed
    top = body["rows"][-1]
    assert top["pe"] is None  # the 24200 put is not listed
    ce = top["ce"]
    assert ce["last_price"] == 50.0 and ce["bid"] == 49.5 and ce["ask"] == 50.5
    assert ce["spread"] == pytest.approx(1.0) and ce["oi"] == 500 and ce["volume"] == 10
    assert ce["oi_change"] == 0  # the first read of the session is the base
    assert ce["stale"] is False and ce["priced"] is True and ce["itm"] is False
    assert body["rows"][0]["pe"]["bid"] is None  # an empty depth level is unknown, not 0


def test_the_far_expiry_has_an_unticked_side_shown_as_stale_nulls(api_client, nifty_chain):
    body = api_client.get("/api/v1/chain/", {"underlying": "NIFTY", "expiry": FAR}).json()
    assert body["expiry"] == FAR.isoformat()
    (row,) = body["rows"]
    side = row["ce"]
    assert side["tradingsymbol"] == f"NIFTY{FAR:%y%b}24100CE".upper()
    assert side["stale"] is True and side["priced"] is False
    assert [side[k] for k in ("last_price", "oi", "iv", "age_seconds", "oi_change")] == [None] * 5
    assert body["straddle"] is None and body["pcr_oi"] is None and body["max_pain"] is None
    assert body["forward_source"] == "spot" and body["atm_strike"] == 24100.0


def test_oi_change_is_against_the_sessions_first_seen_oi(api_client, nifty_chain, redis_client):
    api_client.get("/api/v1/chain/", {"underlying": "NIFTY"})
    ce = nifty_chain[f"NIFTY{NEAR:%y%b}24200CE".upper()]
    oi_key = chain_oi_open_key(settings.TICKER_CHANNEL_PREFIX, session_date(time.time()))
    assert redis_client.hget(oi_key, str(ce.instrument_token)) == b"500"
    assert redis_client.ttl(oi_key) > 0
    redis_client.hset(
        latest_key(settings.TICKER_CHANNEL_PREFIX), str(ce.instrument_token),
        option_snapshot(ce, price=51.0, oi=650, volume=12, iv=0.12, delta=0.5, ts=time.time()),
    )  # fmt: skip
    body = api_client.get("/api/v1/chain/", {"underlying": "NIFTY"}).json()
    assert body["rows"][-1]["ce"]["oi"] == 650 and body["rows"][-1]["ce"]["oi_change"] == 150
    assert body["oi_change_since"] == session_date(time.time())


def test_strikes_limits_the_rows_around_atm_not_the_summary(api_client, nifty_chain):
    body = api_client.get("/api/v1/chain/", {"underlying": "NIFTY", "strikes": 1}).json()
    assert [row["strike"] for row in body["rows"]] == [24050.0, 24100.0, 24150.0]
    assert body["pcr_oi"] == pytest.approx(1300 / 1500)
    body = api_client.get("/api/v1/chain/", {"underlying": "NIFTY", "strikes": 0}).json()
    assert [row["strike"] for row in body["rows"]] == [24100.0]


def test_without_a_spot_there_is_no_atm_and_strikes_keeps_every_row(
    api_client, nifty_chain, redis_client
):
    redis_client.hdel(latest_key(settings.TICKER_CHANNEL_PREFIX), str(NIFTY_INDEX))
    body = api_client.get("/api/v1/chain/", {"underlying": "NIFTY", "strikes": 1}).json()
    assert body["spot"] == {"price": None, "age_seconds": None, "stale": True}
    assert body["forward"] is None and body["atm_strike"] is None and body["straddle"] is None
    assert len(body["rows"]) == len(STRIKES) and not any(r["is_atm"] for r in body["rows"])
    assert body["rows"][0]["ce"]["itm"] is None
    assert body["max_pain"] == 24100.0  # OI needs no spot


def test_a_stale_chain_is_flagged(api_client, nifty_chain, redis_client, settings):
    settings.QUOTES_STALE_SECONDS = 0.2
    body = api_client.get("/api/v1/chain/", {"underlying": "NIFTY"}).json()
    assert body["spot"]["stale"] is True
    assert all(row["ce"]["stale"] for row in body["rows"])
    assert body["forward_source"] == "spot"  # parity needs fresh prices
    assert body["straddle"] == pytest.approx(95.0 + 78.0)  # still shown


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"underlying": "FOO"}, "unknown underlying 'FOO'"),
        ({"underlying": "NIFTY", "expiry": "2020-01-02"}, "unknown expiry 2020-01-02 for NIFTY"),
        ({"underlying": "NIFTY", "expiry": "tomorrow"}, "expiry:"),
        ({"underlying": "NIFTY", "strikes": "-1"}, "strikes:"),
        ({}, "underlying:"),
        ({"underlying": "NIF\x00TY"}, "underlying:"),
        ({"underlying": "BANKNIFTY"}, "BANKNIFTY has no live (subscribed) expiries"),
    ],
)
def test_bad_queries_are_a_400_with_a_clear_message(api_client, nifty_chain, params, message):
    response = api_client.get("/api/v1/chain/", params)
    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_inactive_subscriptions_are_not_in_the_chain(api_client, nifty_chain):
    Subscription.objects.filter(instrument__expiry=FAR).update(status=SubscriptionStatus.INACTIVE)
    body = api_client.get("/api/v1/chain/", {"underlying": "NIFTY"}).json()
    assert body["expiries"] == [NEAR.isoformat()]


def test_the_term_structure(api_client, nifty_chain):
    response = api_client.get("/api/v1/chain/term/", {"underlying": "NIFTY"})
    assert response.status_code == 200
    body = response.json()
    near, far = body["points"]
    assert near["expiry"] == NEAR.isoformat() and near["atm_strike"] == 24100.0
    assert near["atm_iv"] == pytest.approx(0.13) and 8 < near["days_to_expiry"] < 10
    assert far["expiry"] == FAR.isoformat() and far["atm_iv"] is None
    bad = api_client.get("/api/v1/chain/term/", {"underlying": "FOO"})
    assert bad.status_code == 400 and "unknown underlying" in bad.json()["detail"]


def test_the_chain_needs_authentication(nifty_chain):
    for path in ("/api/v1/chain/", "/api/v1/chain/term/"):
        assert APIClient().get(path, {"underlying": "NIFTY"}).status_code in (401, 403)


def test_the_chain_is_503_json_when_redis_is_unreachable(api_client, nifty_chain, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    for path in ("/api/v1/chain/", "/api/v1/chain/term/"):
        response = api_client.get(path, {"underlying": "NIFTY"})
        assert response.status_code == 503
        assert response["Content-Type"] == "application/json"
        assert "redis" in response.json()["detail"]


def test_the_api_root_lists_the_chain(api_client):
    root = api_client.get("/api/v1/").json()
    assert root["chain"].endswith("/api/v1/chain/")
    assert root["chain-term"].endswith("/api/v1/chain/term/")


def _nullable_to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0's ``nullable: true`` as JSON Schema's ``null`` alternative."""
    if isinstance(node, list):
        return [_nullable_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {k: _nullable_to_json_schema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


@pytest.mark.parametrize(
    ("path", "params", "component"),
    [
        ("/api/v1/chain/", {"underlying": "NIFTY"}, "Chain"),
        ("/api/v1/chain/", {"underlying": "NIFTY", "expiry": FAR}, "Chain"),
        ("/api/v1/chain/term/", {"underlying": "NIFTY"}, "ChainTerm"),
    ],
)
def test_answers_keep_to_the_openapi_schema(api_client, nifty_chain, path, params, component):
    schema = api_client.get("/api/schema/?format=json").json()
    document = _nullable_to_json_schema(
        {"$ref": f"#/components/schemas/{component}", "components": schema["components"]}
    )
    body = api_client.get(path, params).json()
    jsonschema.validate(body, document)
    strict = {**document["components"]["schemas"]["ChainSide"], "additionalProperties": False}
    for row in body.get("rows", []):  # no field served that the schema does not name
        for side in (row["ce"], row["pe"]):
            if side is not None:
                jsonschema.validate(side, {**strict, "components": document["components"]})


def test_chain_requests_share_the_process_pool(api_client, nifty_chain):
    shared = process_redis(settings.REDIS_URL)
    api_client.get("/api/v1/chain/", {"underlying": "NIFTY"})  # the pool has its connection
    created = redis_pool_figures(shared).created
    for _ in range(5):
        assert api_client.get("/api/v1/chain/", {"underlying": "NIFTY"}).status_code == 200
        assert api_client.get("/api/v1/chain/term/", {"underlying": "NIFTY"}).status_code == 200
    assert redis_pool_figures(shared).created == created
    assert redis_pool_figures(shared).in_use == 0
