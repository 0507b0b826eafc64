"""``manage.py refresh_instruments [--exchange NFO ...]``: refresh the registry from Kite's dump.

The same service the daily beat task runs, under the same single-flight lock, with a progress
bar and a summary (bad rows listed with their line, field and reason).
"""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from subscriptions.services.instruments import InstrumentsRefreshError, instruments_refresh
from subscriptions.tasks import REFRESH_HARD_LIMIT
from subscriptions.wiring import configured_dump_sources, configured_single_flight

MAX_BAD_ROWS_SHOWN = 20


class Command(BaseCommand):
    help = "Refresh the instrument registry from Kite's instruments dump."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--exchange",
            action="append",
            default=[],
            help="an exchange to refresh (repeatable); default: the whole dump",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with configured_single_flight("refresh_instruments", REFRESH_HARD_LIMIT) as acquired:
            if not acquired:
                raise CommandError("another instruments refresh is running; try again later")
            with tqdm(desc="upserting", unit="rows", file=self.stderr) as bar:
                try:
                    report = instruments_refresh(
                        sources=configured_dump_sources(),
                        exchanges=options["exchange"],
                        now=timezone.now(),
                        on_progress=bar.update,
                    )
                except InstrumentsRefreshError as exc:
                    raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"exchanges={','.join(report.exchanges)} account={report.source_account} "
            f"rows={report.rows} created={report.created} updated={report.updated} "
            f"expired={report.expired} bad_rows={len(report.bad_rows)} "
            f"subscriptions_deactivated={report.subscriptions_deactivated}"
        )
        for bad in report.bad_rows[:MAX_BAD_ROWS_SHOWN]:
            self.stdout.write(
                f"  bad row: dump={bad.dump} line={bad.line} "
                f"{bad.field}={bad.value!r}: {bad.reason}"
            )
        if len(report.bad_rows) > MAX_BAD_ROWS_SHOWN:
            self.stdout.write(f"  ... and {len(report.bad_rows) - MAX_BAD_ROWS_SHOWN} more")
        if report.expiry_skipped:
            self.stderr.write(f"expiry skipped: {report.expiry_skipped}")
