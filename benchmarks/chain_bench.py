"""The chain endpoint's latency for a 200-strike chain (400 options), against assembling the same
chain from the generic endpoints, measured in the same run.

Every request goes through Django's test client (``django.test.Client``: the full middleware
stack, session authentication, throttling, URL routing and rendering; no socket), the same way
for both sides:

* chain: ``GET /api/v1/chain/?underlying=BENCH`` (registry read + one pipelined Redis read +
  analytics + JSON);
* baseline: what a client does without it, per refresh: ``GET /api/v1/instruments/?name=BENCH
  &expiry=...&page_size=1000`` (the chain's tokens) then ``GET /api/v1/quotes/?tokens=<401>``
  (the snapshots); nothing computed. "quotes only" is the lower bound of a client that caches
  the tokens.

Runs in its own PostgreSQL database (``ticker_bench_chain``) and under its own Redis prefix
(``bench:chain``, deleted afterwards) on the servers ``DATABASE_URL`` / ``REDIS_URL`` point at.
Target: chain p99 under 20 ms on this machine.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import orjson

from benchmarks.bench_database import setup_bench_database, teardown

BENCH_DATABASE = "ticker_bench_chain"
PREFIX = "bench:chain"
INDEX_TOKEN = 990_001
FULL = {"strikes": 200, "requests": 1000, "baseline_requests": 300}
SMOKE = {"strikes": 20, "requests": 20, "baseline_requests": 10}
TARGET_P99_MS = 20.0


def _snapshot(
    token: int, symbol: str, *, strike: float, expiry: date, kind: str, now: float
) -> bytes:
    level = {"quantity": 75, "orders": 2}
    moneyness = (strike - 24_000.0) / 1000.0
    price = max(0.05, 150.0 - 60.0 * moneyness if kind == "CE" else 150.0 + 60.0 * moneyness)
    return orjson.dumps(
        {
            "symbol": "BENCH", "token": token, "tradingsymbol": symbol, "segment": "NFO-OPT",
            "exchange": "NFO", "strike": strike, "expiry": expiry.isoformat(), "type": kind,
            "lot_size": 75, "tick_size": 0.05, "price": round(price, 2), "volume": 10_000,
            "oi": 500_000 + int(strike), "iv": 0.14 + 0.02 * moneyness**2,
            "delta": 0.5 - 0.4 * moneyness if kind == "CE" else -0.5 - 0.4 * moneyness,
            "gamma": 0.001, "theta": -10.0, "vega": 8.0, "ts": now, "is_mock": True, "rho": 1.0,
            "underlying_price": 24_000.0, "iv_error": None,
            "depth": {"buy": [{**level, "price": round(price - 0.05, 2)}] * 5,
                      "sell": [{**level, "price": round(price + 0.05, 2)}] * 5},
            "total_buy_quantity": 750, "total_sell_quantity": 900,
        }
    )  # fmt: skip


def _populate(strikes: int) -> tuple[date, list[int]]:
    from django.conf import settings  # noqa: PLC0415
    from django.db import connection  # noqa: PLC0415
    from django.utils import timezone  # noqa: PLC0415

    from contract.names import latest_key  # noqa: PLC0415
    from infra.redis_factory import process_redis  # noqa: PLC0415
    from subscriptions.models import Instrument, Subscription, Underlying  # noqa: PLC0415

    expiry = timezone.localdate() + timedelta(days=10)
    Underlying.objects.create(
        name="BENCH", index_token=INDEX_TOKEN, index_tradingsymbol="BENCH INDEX", strike_step=50
    )
    now = time.time()
    instruments, values = [], {}
    for n in range(strikes):
        strike = 24_000.0 + 50 * (n - strikes // 2)
        for kind in ("CE", "PE"):
            token = 5_000_000 + n * 2 + (kind == "PE")
            symbol = f"BENCH{int(strike)}{kind}"
            instruments.append(
                Instrument(
                    instrument_token=token, exchange_token=token, tradingsymbol=symbol,
                    name="BENCH", segment="NFO-OPT", exchange="NFO", instrument_type=kind,
                    strike=strike, expiry=expiry, lot_size=75,
                )
            )  # fmt: skip
            values[str(token)] = _snapshot(
                token, symbol, strike=strike, expiry=expiry, kind=kind, now=now
            )
    made = Instrument.objects.bulk_create(instruments)
    Subscription.objects.bulk_create([Subscription(instrument=i) for i in made])
    with connection.cursor() as cursor:  # statistics, as autovacuum keeps them on a live server
        cursor.execute(f"ANALYZE {Instrument._meta.db_table}, {Subscription._meta.db_table}")
    values[str(INDEX_TOKEN)] = orjson.dumps(
        {"symbol": "BENCH INDEX", "token": INDEX_TOKEN, "price": 24_010.0, "ts": now,
         "is_mock": True}
    )  # fmt: skip
    process_redis(settings.REDIS_URL).hset(latest_key(PREFIX), mapping=values)  # type: ignore[arg-type]
    return expiry, [i.instrument_token for i in made]


def _latencies(call: Callable[[], None], count: int) -> list[float]:
    for _ in range(min(20, count)):  # warm the pools and caches
        call()
    seconds = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return seconds


def _summary(label: str, seconds: list[float]) -> tuple[str, float, float]:
    ms = sorted(s * 1000 for s in seconds)
    p50 = statistics.median(ms)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    return f"{label}: p50 {p50:.2f} ms, p99 {p99:.2f} ms ({len(ms)} requests)", p50, p99


def _ok(response: Any) -> Any:
    if response.status_code != 200:
        raise SystemExit(f"benchmark request failed: {response.status_code} {response.content!r}")
    return response


def _expect(condition: bool, problem: str) -> None:
    if not condition:
        raise SystemExit(f"benchmark set-up is wrong: {problem}")


def run(*, smoke: bool) -> Iterator[str]:
    sizes = SMOKE if smoke else FULL
    connection, old = setup_bench_database(BENCH_DATABASE, benchmark="chain_bench")
    from django.conf import settings  # noqa: PLC0415
    from django.contrib.auth import get_user_model  # noqa: PLC0415
    from django.test import Client  # noqa: PLC0415
    from django.test.utils import setup_test_environment  # noqa: PLC0415

    from contract.names import latest_key  # noqa: PLC0415
    from infra.gc_tuning import freeze_startup_heap  # noqa: PLC0415
    from infra.redis_factory import process_redis  # noqa: PLC0415

    thresholds = gc.get_threshold()
    freeze_startup_heap()  # as ticker_project/wsgi.py does in every web process
    setup_test_environment()  # the test client's host, "testserver", is allowed
    settings.TICKER_CHANNEL_PREFIX = PREFIX
    settings.API_THROTTLE_RATES = {"anon": "60/minute", "user": "10000000/minute"}
    redis_client = process_redis(settings.REDIS_URL)
    try:
        expiry, tokens = _populate(sizes["strikes"])
        client = Client()
        client.force_login(get_user_model().objects.create_user("bench", password="x" * 16))
        chain_url = "/api/v1/chain/?underlying=BENCH"
        body = _ok(client.get(chain_url)).json()
        _expect(len(body["rows"]) == sizes["strikes"], f"{len(body['rows'])} chain rows")
        instruments_url = f"/api/v1/instruments/?name=BENCH&expiry={expiry}&page_size=1000"
        quotes_url = "/api/v1/quotes/?tokens=" + ",".join(map(str, [*tokens, INDEX_TOKEN]))

        def assemble() -> None:
            listed = _ok(client.get(instruments_url)).json()
            _expect(len(listed["results"]) == len(tokens), "instruments page incomplete")
            _ok(client.get(quotes_url))

        chain_line, chain_p50, chain_p99 = _summary(
            f"chain endpoint, {sizes['strikes']} strikes",
            _latencies(lambda: _ok(client.get(chain_url)) and None, sizes["requests"]),
        )
        base_line, base_p50, base_p99 = _summary(
            "baseline: instruments + quotes", _latencies(assemble, sizes["baseline_requests"])
        )
        quotes_line, quotes_p50, _ = _summary(
            "quotes only (tokens cached)",
            _latencies(lambda: _ok(client.get(quotes_url)) and None, sizes["baseline_requests"]),
        )
        met = "met" if chain_p99 < TARGET_P99_MS else "NOT met"
        if smoke:
            met = "not judged (the target is for the full run's 200 strikes)"
        yield (
            "   (Django test client for every request: full middleware, session auth, no socket;"
            " GC tuned as in ticker_project/wsgi.py)"
        )
        yield f"   {chain_line}; target p99 < {TARGET_P99_MS:.0f} ms: {met}"
        yield f"   {base_line}; chain/baseline p50 {chain_p50 / base_p50:.2f}x, p99 " + (
            f"{chain_p99 / base_p99:.2f}x"
        )
        yield f"   {quotes_line}; chain/quotes-only p50 {chain_p50 / quotes_p50:.2f}x"
    finally:
        redis_client.delete(latest_key(PREFIX))
        for key in redis_client.scan_iter(match=f"{PREFIX}:chain:*"):
            redis_client.delete(key)
        teardown(connection, old)
        gc.unfreeze()  # the next benchmark module runs in this process with the defaults
        gc.set_threshold(*thresholds)
