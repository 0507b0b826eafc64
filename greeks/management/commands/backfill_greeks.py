"""``manage.py backfill_greeks --underlying NIFTY [--expiry D] [--strikes N] --from D --to D
[--interval minute] [--dry-run] [--no-resume]``: fetch, price and store historical option candles.

The same service as the nightly task and the admin action (``historical_greeks_enrich``), with a
progress bar on a terminal and a summary at the end. A bad date, span, interval or underlying is
a CommandError (exit 1); so is a run that was due to fetch and brought back no candle at all.
"""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from greeks.history.enrich import EnrichInputError, EnrichProgress, EnrichSummary
from greeks.history.selectors import UnknownUnderlying, instruments_for_backfill
from greeks.history.wiring import configured_enrich, configured_tz
from kite_wire.historical import INTERVALS


def _date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option} {value!r} is not a date (YYYY-MM-DD)") from None


def summary_lines(summary: EnrichSummary) -> list[str]:
    lines = [
        f"instruments={summary.instruments} requests={summary.requests} "
        f"(planned {summary.requests_planned}) candles_fetched={summary.candles_fetched} "
        f"priced={summary.candles_priced} stored={summary.candles_stored} "
        f"underlying_stored={summary.underlying_candles_stored} "
        f"days_done={summary.days_done} days_already_done={summary.days_already_done} "
        f"seconds={summary.seconds:.1f}"
        + (" (dry run: nothing fetched)" if summary.dry_run else "")
    ]
    for title, counts in (
        ("failed requests", summary.failed_by_reason),
        ("bad rows", summary.bad_rows_by_reason),
        ("candles without IV", summary.unpriced_by_reason),
    ):
        if counts:
            detail = ", ".join(f"{reason}={n}" for reason, n in sorted(counts.items()))
            lines.append(f"  {title}: {detail}")
    if summary.dead_account_ids:
        lines.append(f"  accounts marked needs_login: {summary.dead_account_ids}")
    return lines


class Command(BaseCommand):
    help = "Backfill historical option candles with IV and Greeks for one underlying."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--underlying", required=True, help="Kite's name, e.g. NIFTY")
        parser.add_argument("--expiry", help="one expiry (YYYY-MM-DD); default: every listed")
        parser.add_argument("--strikes", type=int, help="the N strikes nearest the index price")
        parser.add_argument("--from", dest="start", required=True, help="first day (YYYY-MM-DD)")
        parser.add_argument("--to", dest="end", required=True, help="last day (YYYY-MM-DD)")
        parser.add_argument("--interval", default="minute", help=f"one of {', '.join(INTERVALS)}")
        parser.add_argument("--dry-run", action="store_true", help="plan the requests only")
        parser.add_argument(
            "--no-resume", action="store_true", help="refetch days an earlier run finished"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        today = now.astimezone(configured_tz()).date()
        start, end = _date(options["start"], "--from"), _date(options["end"], "--to")
        expiry = _date(options["expiry"], "--expiry") if options["expiry"] else None
        if end < start:
            raise CommandError(f"--from {start} is after --to {end}")
        if end > today:
            raise CommandError(f"--to {end} is in the future (today is {today})")
        if options["interval"] not in INTERVALS:
            raise CommandError(f"--interval must be one of {', '.join(INTERVALS)}")
        if options["strikes"] is not None and options["strikes"] < 1:
            raise CommandError("--strikes must be at least 1")
        try:
            instruments = list(
                instruments_for_backfill(
                    underlying=options["underlying"],
                    expiry=expiry,
                    strikes=options["strikes"],
                    expiring_from=start,
                )
            )
        except UnknownUnderlying:
            raise CommandError(f"unknown underlying {options['underlying']!r}") from None
        if not instruments:
            raise CommandError(f"no listed options of {options['underlying']} match")
        with tqdm(
            desc="requests", unit="req", file=self.stderr, disable=not self.stderr.isatty()
        ) as bar:

            def progressed(event: EnrichProgress) -> None:
                bar.total = event.requests_planned
                bar.update(event.requests_done - bar.n)

            try:
                summary = configured_enrich(
                    instruments=instruments,
                    interval=options["interval"],
                    start=start,
                    end=end,
                    now=now,
                    resume=not options["no_resume"],
                    dry_run=options["dry_run"],
                    on_progress=progressed,
                )
            except EnrichInputError as exc:
                raise CommandError(str(exc)) from exc
        for line in summary_lines(summary):
            self.stdout.write(line)
        if not summary.dry_run and summary.nothing_fetched:
            raise CommandError("nothing could be fetched (see failed requests above)")
