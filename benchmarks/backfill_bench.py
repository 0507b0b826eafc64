"""A historical backfill of one underlying against the simulator: requests/s against Kite's limit.

Full: every NIFTY strike of the two nearest expiries (CE and PE), minute candles over 30 calendar
days, through the simulator's 3 accounts with Kite's limits on (3 historical requests/s per
api_key, so 9/s in all). The simulator runs as its own process (``manage.py run_simulator``),
as Kite would be, so its candle generation does not share this process's CPU.

1. Fetch only: the pool over a sample of the options' requests (kiteconnect's
   ``historical_data`` included, candles discarded): requests/s against the 9/s limit, for the
   backfill's 30-day requests and for the nightly job's 1-day ones. A smoke sample fits in the
   limiter's first window, whose burst beats the rate.
2. End to end: ``historical_greeks_enrich`` over every option (fetch, validate, price, store on
   PostgreSQL): requests/s, candles/s, and the 429s the simulator counted (must be 0).

``--smoke``: 2 strikes x 2 expiries over 3 days. Runs in its own database,
``ticker_bench_backfill`` (created, migrated, dropped), and under its own Redis prefix on the
server ``REDIS_URL`` points at (its progress keys are deleted afterwards).
"""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.bench_database import setup_bench_database, teardown
from benchmarks.pipeline_bench import simulator_process

REPO = Path(__file__).resolve().parent.parent

BENCH_DATABASE = "ticker_bench_backfill"
PREFIX = "bench:backfill"
FULL = {"strikes": None, "days": 30, "fetch_sample": 60}
SMOKE = {"strikes": 2, "days": 3, "fetch_sample": 6}


def _historical_counts(control_root: str) -> tuple[int, int]:
    """(allowed, refused) historical requests, summed over the simulator's api_keys."""
    with urllib.request.urlopen(f"{control_root}/state", timeout=10) as response:  # noqa: S310
        limits = json.loads(response.read())["data"]["rate_limits"]
    buckets = [b.get("historical", {}) for b in limits.values()]
    return sum(b.get("allowed", 0) for b in buckets), sum(b.get("refused", 0) for b in buckets)


def _backfill(sizes: dict[str, Any], sim: dict[str, Any]) -> list[str]:
    from django.conf import settings  # noqa: PLC0415
    from django.utils import timezone  # noqa: PLC0415

    from accounts.models import Account, AccountStatus  # noqa: PLC0415
    from accounts.wiring import configured_cipher  # noqa: PLC0415
    from greeks.history.enrich import historical_greeks_enrich  # noqa: PLC0415
    from greeks.history.fetch import Fetched, FetchJob, HistoricalFetchPool  # noqa: PLC0415
    from greeks.history.progress import HistoryProgress  # noqa: PLC0415
    from greeks.history.rate_limit import HistoricalRateLimiter  # noqa: PLC0415
    from greeks.history.selectors import instruments_for_backfill  # noqa: PLC0415
    from greeks.history.wiring import (  # noqa: PLC0415
        configured_fetch_accounts,
        configured_store,
        configured_tz,
    )
    from infra.redis_factory import process_redis  # noqa: PLC0415
    from kite_wire.historical import HISTORICAL_REQUESTS_PER_SECOND, DayRun  # noqa: PLC0415
    from subscriptions.models import Instrument  # noqa: PLC0415
    from subscriptions.services.instruments import instruments_refresh  # noqa: PLC0415
    from subscriptions.wiring import configured_dump_sources  # noqa: PLC0415

    client = process_redis(settings.REDIS_URL)
    cipher = configured_cipher()
    for number, credentials in enumerate(sim["accounts"]):
        Account.objects.create(
            name=f"bench-{number}",
            broker_user_id=credentials["user_id"],
            api_key_encrypted=cipher.encrypt(credentials["api_key"]),
            access_token_encrypted=cipher.encrypt(credentials["access_token"]),
            api_root_override=sim["api_root"],
            status=AccountStatus.ACTIVE,
        )
    instruments_refresh(sources=configured_dump_sources(), now=timezone.now())
    tz = configured_tz()
    today = timezone.now().astimezone(tz).date()
    expiries = list(
        Instrument.objects.filter(name="NIFTY", instrument_type="CE", expiry__gte=today)
        .order_by("expiry")
        .values_list("expiry", flat=True)
        .distinct()[:2]
    )
    options = [
        option
        for expiry in expiries
        for option in instruments_for_backfill(
            underlying="NIFTY", expiry=expiry, strikes=sizes["strikes"], expiring_from=today
        )
    ]
    end = today - timedelta(days=1)
    start = end - timedelta(days=sizes["days"] - 1)
    accounts, fetchers = configured_fetch_accounts(now=timezone.now())
    limiter = HistoricalRateLimiter(
        client, window_seconds=settings.GREEKS_HISTORY_RATE_WINDOW_SECONDS
    )
    limit = HISTORICAL_REQUESTS_PER_SECOND * len(fetchers)
    window = settings.GREEKS_HISTORY_RATE_WINDOW_SECONDS
    effective = limit / window
    lines = [
        f"backfill NIFTY: {len(options)} options ({len(expiries)} expiries), minute candles, "
        f"{sizes['days']} days ({start} to {end}), {len(fetchers)} accounts; Kite's limit "
        f"{limit}/s ({HISTORICAL_REQUESTS_PER_SECOND}/s x {len(fetchers)} api_keys), the "
        f"limiter's ceiling {effective:.1f}/s (window {window} s)"
    ]

    # 1. Fetch only (kiteconnect's parsing included, nothing stored): the backfill's requests
    # (the whole range each), then the nightly job's (one day each).
    pool = HistoricalFetchPool(accounts=fetchers, limiter=limiter)
    for label, first in ((f"{sizes['days']}-day", start), ("1-day (the nightly job's)", end)):
        bounds = DayRun(first, end).bounds(tz)
        sample = [
            FetchJob(o.instrument_token, "minute", *bounds)
            for o in options[: sizes["fetch_sample"]]
        ]
        started = time.perf_counter()
        fetched = [o for o in pool.run(sample) if isinstance(o, Fetched)]
        seconds = time.perf_counter() - started
        rows = sum(len(o.rows) for o in fetched)
        requests = sum(o.requests for o in fetched)
        lines.append(
            f"fetch only, {len(sample)} {label} requests ({rows // max(1, len(fetched)):,} "
            f"candles each): {requests / seconds:.2f} requests/s ({requests / seconds / limit:.0%} "
            f"of Kite's limit), {rows / seconds:,.0f} candles/s, {seconds:.1f} s"
        )

    # 2. End to end: fetch, validate, price, store.
    started = time.perf_counter()
    summary = historical_greeks_enrich(
        instruments=options,
        interval="minute",
        start=start,
        end=end,
        now=timezone.now(),
        pool=HistoricalFetchPool(accounts=fetchers, limiter=limiter),
        accounts=accounts,
        store=configured_store(),
        progress=HistoryProgress(client=client, prefix=PREFIX),
        tz=tz,
    )
    seconds = time.perf_counter() - started
    keys = list(client.scan_iter(f"{PREFIX}:*"))  # the limiter's windows expire by themselves
    if keys:
        client.delete(*keys)
    allowed, refused = _historical_counts(sim["control_root"])
    achieved = summary.requests / seconds
    lines += [
        f"end to end: {summary.requests} requests (planned {summary.requests_planned}), "
        f"{achieved:.2f} requests/s ({achieved / limit:.0%} of Kite's limit), failed: "
        f"{summary.failed_by_reason or 0}",
        f"candles: fetched {summary.candles_fetched:,}, priced {summary.candles_priced:,}, "
        f"stored {summary.candles_stored:,} option + {summary.underlying_candles_stored:,} index; "
        f"{summary.candles_fetched / seconds:,.0f} candles/s in {seconds:.1f} s",
        f"simulator, both phases: {allowed} historical requests served, {refused} refused (429)",
    ]
    return lines


def run(*, smoke: bool) -> list[str]:
    connection, old = setup_bench_database(BENCH_DATABASE, benchmark="backfill_bench")
    try:
        with simulator_process("--accounts", "3", "--seed", "1") as sim:
            return _backfill(SMOKE if smoke else FULL, sim)
    finally:
        teardown(connection, old)
