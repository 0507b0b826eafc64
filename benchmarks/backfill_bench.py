"""A historical backfill of one underlying against the simulator: requests/s against Kite's limit.

Full: every NIFTY strike of the two nearest expiries (CE and PE), minute candles over 30 calendar
days, through the simulator's 3 accounts with Kite's limits on (3 historical requests/s per
api_key, so 9/s in all), priced and stored on PostgreSQL by the real service. Printed: requests
made and refused (429s, counted by the simulator: the limiter must keep them at 0), requests/s
achieved against the 9/s limit, candles fetched, priced and stored per second, and the seconds
the fetch, price and store took. ``--smoke``: 2 strikes x 2 expiries over 3 days.

Runs in its own database, ``ticker_bench_backfill`` (created, migrated, dropped), and under its own
Redis prefix on the server ``REDIS_URL`` points at (its keys are deleted afterwards).
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from benchmarks.bench_database import setup_bench_database, teardown

BENCH_DATABASE = "ticker_bench_backfill"
PREFIX = "bench:backfill"
FULL = {"strikes": None, "days": 30}
SMOKE = {"strikes": 2, "days": 3}


def _backfill(sizes: dict[str, Any]) -> list[str]:
    from django.conf import settings  # noqa: PLC0415
    from django.utils import timezone  # noqa: PLC0415

    from accounts.models import Account, AccountStatus  # noqa: PLC0415
    from accounts.wiring import configured_cipher  # noqa: PLC0415
    from greeks.history.enrich import historical_greeks_enrich  # noqa: PLC0415
    from greeks.history.fetch import HistoricalFetchPool  # noqa: PLC0415
    from greeks.history.progress import HistoryProgress  # noqa: PLC0415
    from greeks.history.rate_limit import HistoricalRateLimiter  # noqa: PLC0415
    from greeks.history.selectors import instruments_for_backfill  # noqa: PLC0415
    from greeks.history.wiring import (  # noqa: PLC0415
        configured_fetch_accounts,
        configured_store,
        configured_tz,
    )
    from infra.redis_factory import process_redis  # noqa: PLC0415
    from kite_wire.historical import HISTORICAL_REQUESTS_PER_SECOND  # noqa: PLC0415
    from simulator.server import SimulatorOptions, SimulatorThread  # noqa: PLC0415
    from subscriptions.models import Instrument  # noqa: PLC0415
    from subscriptions.services.instruments import instruments_refresh  # noqa: PLC0415
    from subscriptions.wiring import configured_dump_sources  # noqa: PLC0415

    thread = SimulatorThread(SimulatorOptions(accounts=3))
    running = thread.start()
    client = process_redis(settings.REDIS_URL)
    try:
        cipher = configured_cipher()
        api_root = running.api_root
        for number, sim_account in enumerate(running.context.sessions.accounts.values()):
            Account.objects.create(
                name=f"bench-{number}",
                broker_user_id=sim_account.user_id,
                api_key_encrypted=cipher.encrypt(sim_account.api_key),
                access_token_encrypted=cipher.encrypt(sim_account.initial_access_token),
                api_root_override=api_root,
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
                underlying="NIFTY", expiry=expiry, strikes=sizes["strikes"], today=today
            )
        ]
        end = today - timedelta(days=1)
        start = end - timedelta(days=sizes["days"] - 1)
        accounts, fetchers = configured_fetch_accounts(now=timezone.now())
        started = time.perf_counter()
        summary = historical_greeks_enrich(
            instruments=options,
            interval="minute",
            start=start,
            end=end,
            now=timezone.now(),
            pool=HistoricalFetchPool(accounts=fetchers, limiter=HistoricalRateLimiter(client)),
            accounts=accounts,
            store=configured_store(),
            progress=HistoryProgress(client=client, prefix=PREFIX),
            tz=tz,
        )
        seconds = time.perf_counter() - started
        counts = running.context.limiter.counts()
        refused = sum(b.get("historical", {}).get("refused", 0) for b in counts.values())
    finally:
        thread.stop()
        keys = list(client.scan_iter(f"{PREFIX}:*"))  # the limiter's windows expire by themselves
        if keys:
            client.delete(*keys)
    limit = HISTORICAL_REQUESTS_PER_SECOND * len(fetchers)
    achieved = summary.requests / seconds
    return [
        f"backfill NIFTY: {len(options)} options ({len(expiries)} expiries), minute candles, "
        f"{sizes['days']} days ({start} to {end}), {len(fetchers)} accounts",
        f"requests: {summary.requests} (planned {summary.requests_planned}), refused by the "
        f"simulator (429): {refused}, failed: {summary.failed_by_reason or 0}",
        f"requests/s: {achieved:.2f} against Kite's limit {limit}/s "
        f"({HISTORICAL_REQUESTS_PER_SECOND}/s x {len(fetchers)} api_keys): {achieved / limit:.0%}",
        f"candles: fetched {summary.candles_fetched:,}, priced {summary.candles_priced:,}, "
        f"stored {summary.candles_stored:,} option + {summary.underlying_candles_stored:,} index; "
        f"{summary.candles_fetched / seconds:,.0f} candles/s end to end in {seconds:.1f} s",
    ]


def run(*, smoke: bool) -> list[str]:
    connection, old = setup_bench_database(BENCH_DATABASE, benchmark="backfill_bench")
    try:
        return _backfill(SMOKE if smoke else FULL)
    finally:
        teardown(connection, old)
