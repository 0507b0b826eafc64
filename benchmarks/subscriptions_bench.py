"""Control-plane speed on PostgreSQL: the 100k-row instruments refresh and the assignment of
20k subscriptions to 3 accounts, each against a baseline measured in the same run.

Runs in its own database, ``ticker_bench`` (created and migrated with Django's test-runner
utilities, dropped afterwards), on the server ``DATABASE_URL`` points at; never the demo's or
the tests' data.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from benchmarks.bench_database import setup_bench_database, teardown

BENCH_DATABASE = "ticker_bench"
FULL = {"rows": 100_000, "baseline_rows": 500, "subscriptions": 20_000, "baseline_subs": 500}
SMOKE = {"rows": 2_000, "baseline_rows": 50, "subscriptions": 1_000, "baseline_subs": 50}


def _rows(count: int) -> list[Any]:
    from kite_wire.instruments_csv import InstrumentRow  # noqa: PLC0415

    expiries = [date(2026, 12, 1) + timedelta(days=7 * i) for i in range(20)]
    rows = []
    for n in range(count):
        kind = "CE" if n % 2 else "PE"
        strike = 20_000.0 + 50 * ((n // 2) % 250)
        expiry = expiries[(n // 500) % len(expiries)]
        exchange_token = 100_000 + n
        rows.append(
            InstrumentRow(
                instrument_token=exchange_token * 256 + 2,
                exchange_token=exchange_token,
                tradingsymbol=f"BENCH{n}{kind}",
                name=f"U{n // 5000}",
                last_price=101.25,
                expiry=expiry,
                strike=strike,
                tick_size=0.05,
                lot_size=75,
                instrument_type=kind,
                segment="NFO-OPT",
                exchange="NFO",
            )
        )
    return rows


def _upsert_lines(sizes: dict[str, int]) -> list[str]:
    from kite_wire.instruments_csv import write_instruments_csv  # noqa: PLC0415
    from subscriptions.kite_dump import DumpSource  # noqa: PLC0415
    from subscriptions.models import Instrument  # noqa: PLC0415
    from subscriptions.services.instruments import instruments_refresh  # noqa: PLC0415

    rows = _rows(sizes["rows"])
    dump = write_instruments_csv(rows).encode()
    source = DumpSource("bench", "http://unused", "k", "t", 1.0)
    now = datetime.now(tz=UTC)
    lines = []
    for label in ("insert", "update"):
        started = time.perf_counter()
        report = instruments_refresh(
            sources=[source], now=now, fetch=lambda _source, _exchange: dump
        )
        seconds = time.perf_counter() - started
        lines.append(
            f"instruments refresh ({label}) {report.rows} rows: {seconds:.2f} s, "
            f"{report.rows / seconds:,.0f} rows/s (parse + validate + upsert + expire)"
        )
        now += timedelta(seconds=1)
    refresh_seconds = seconds

    sample = rows[: sizes["baseline_rows"]]
    started = time.perf_counter()
    for row in sample:
        Instrument.objects.update_or_create(
            instrument_token=row.instrument_token,
            defaults={"tradingsymbol": row.tradingsymbol + "X", "last_price": row.last_price + 1},
        )
    per_row = (time.perf_counter() - started) / len(sample)
    baseline = per_row * len(rows)
    lines.append(
        f"baseline update_or_create per row: {1 / per_row:,.0f} rows/s "
        f"({len(sample)} rows, extrapolated {baseline:.1f} s for {len(rows)}); "
        f"ratio {baseline / refresh_seconds:.1f}x"
    )
    return lines


def _assignment_lines(sizes: dict[str, int]) -> list[str]:
    from accounts.models import Account, AccountStatus  # noqa: PLC0415
    from subscriptions.assignment import (  # noqa: PLC0415
        AccountSlot,
        SubscriptionItem,
        assign_subscriptions,
    )
    from subscriptions.models import Instrument, Subscription  # noqa: PLC0415
    from subscriptions.services.assignment import subscriptions_assign  # noqa: PLC0415

    count = sizes["subscriptions"]
    capacity = max(3000, count // 3 + 100)
    # bulk_create sends no post_save, so no assignment is enqueued on a broker.
    accounts = Account.objects.bulk_create(
        [
            Account(
                name=f"bench-{i}",
                api_key_encrypted="x",
                access_token_encrypted="x",  # noqa: S106  (placeholder, never decrypted)
                status=AccountStatus.ACTIVE,
                max_connections=3,
                instruments_per_connection=capacity // 3,
            )
            for i in range(3)
        ]
    )
    instrument_ids = list(Instrument.objects.order_by("pk").values_list("pk", flat=True)[:count])
    Subscription.objects.bulk_create(
        [Subscription(instrument_id=pk) for pk in instrument_ids], batch_size=5000
    )

    items = [
        SubscriptionItem(i, 10_000 + i, None, 256265 if i % 2 else 260105) for i in range(count)
    ]
    slots = [AccountSlot(a.pk, a.capacity) for a in accounts]
    started = time.perf_counter()
    result = assign_subscriptions(items, slots)
    pure = time.perf_counter() - started

    now = datetime.now(tz=UTC)
    started = time.perf_counter()
    report = subscriptions_assign(now=now, publisher=None, reason="benchmark")
    service = time.perf_counter() - started

    # Baseline: the naive write path, one UPDATE per subscription (sampled, extrapolated).
    sample = list(Subscription.objects.order_by("pk")[: sizes["baseline_subs"]])
    started = time.perf_counter()
    for n, subscription in enumerate(sample):
        subscription.account_id = accounts[n % 3].pk
        subscription.save(update_fields=["account"])
    naive = (time.perf_counter() - started) / len(sample) * count
    return [
        f"assignment pure function: 3 accounts x {count} subscriptions in {pure * 1000:.0f} ms "
        f"({len(result.assignments)} assigned, {len(result.unassigned)} unassigned)",
        f"assignment service (PostgreSQL read + bulk write): {service:.2f} s "
        f"({report.assigned} assigned, {report.unassigned} unassigned)",
        f"baseline per-row save: extrapolated {naive:.1f} s for {count}; "
        f"ratio {naive / service:.1f}x",
    ]


def run(smoke: bool) -> list[str]:
    connection, old = setup_bench_database(BENCH_DATABASE, benchmark="subscriptions_bench")
    sizes = SMOKE if smoke else FULL
    try:
        return [*_upsert_lines(sizes), *_assignment_lines(sizes)]
    finally:
        teardown(connection, old)
