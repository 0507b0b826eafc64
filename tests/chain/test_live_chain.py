"""The chain API over what a real worker publishes: the simulator streams, ``run_account``
prices and writes ``{prefix}:latest``, the API reads it back as a chain."""

from __future__ import annotations

import math

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from tests.streaming.helpers import (
    load_simulator_instruments,
    run_worker,
    simulator_account,
    subscribe,
    worker_env,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _live(client: APIClient, expiry: str) -> dict | None:
    response = client.get("/api/v1/chain/", {"underlying": "NIFTY", "expiry": expiry})
    assert response.status_code == 200, response.content
    body = response.json()
    sides = [s for row in body["rows"] for s in (row["ce"], row["pe"]) if s is not None]
    return body if all(s["priced"] and not s["stale"] for s in sides) else None


def test_a_streaming_worker_makes_a_live_chain(kite_simulator, redis_client):
    instruments = load_simulator_instruments(kite_simulator)
    account = simulator_account(kite_simulator, kite_simulator.accounts[0])
    options = [i for i in instruments if i.name == "NIFTY" and i.instrument_type in ("CE", "PE")]
    expiry = sorted({i.expiry for i in options if i.expiry is not None})[1]
    chain = sorted((i for i in options if i.expiry == expiry), key=lambda i: abs(i.strike - 24000))[
        :30
    ]
    subscribe(account, chain)
    api = APIClient()
    api.force_authenticate(get_user_model().objects.create_user("live", password="x" * 12))
    with run_worker(account.pk, worker_env(redis_url=settings.REDIS_URL)) as worker:
        body = worker.wait_for(lambda: _live(api, expiry.isoformat()), timeout=40)
        term = api.get("/api/v1/chain/term/", {"underlying": "NIFTY"}).json()
        worker.stop()
    strikes = sorted({i.strike for i in chain})
    assert [row["strike"] for row in body["rows"]] == strikes
    assert body["spot"]["price"] is not None and body["spot"]["stale"] is False
    assert body["forward_source"] == "parity"
    # Parity on the simulator's prices agrees with its carry: F = S e^(rT) (rate 0.10).
    carry = body["spot"]["price"] * math.exp(0.10 * body["days_to_expiry"] / 365)
    assert body["forward"] == pytest.approx(carry, rel=2e-3)
    (atm,) = [row for row in body["rows"] if row["is_atm"]]
    assert abs(atm["strike"] - body["forward"]) <= 25.0  # NIFTY strikes are 50 apart
    assert 0.03 < body["atm_iv"] < 1.0
    assert body["straddle"] == pytest.approx(atm["ce"]["last_price"] + atm["pe"]["last_price"])
    assert body["pcr_oi"] > 0 and body["max_pain"] in strikes
    for row in body["rows"]:
        for side in (row["ce"], row["pe"]):
            assert side["oi"] is not None and side["bid"] is not None  # full mode
            assert side["oi_change"] is not None
    (point,) = term["points"]
    assert point["expiry"] == expiry.isoformat() and point["atm_iv"] == pytest.approx(
        body["atm_iv"], rel=0.2
    )
