"""``manage.py rebalance_strikes [--dry-run] [--force] [--underlying NIFTY ...]``.

The same service the every-minute beat task runs; by hand it runs at any hour (use
``--market-hours-only`` to honour the calendar) and prints the diff per underlying.
"""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from subscriptions.services.rebalance import UnderlyingRebalance, underlyings_rebalance
from subscriptions.tasks import REBALANCE_HARD_LIMIT
from subscriptions.wiring import (
    configured_calendar,
    configured_price_source,
    configured_single_flight,
)

SYMBOLS_SHOWN = 12


class Command(BaseCommand):
    help = "Keep CE/PE strikes around the money subscribed for every enabled underlying."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="print the diff, change nothing")
        parser.add_argument("--force", action="store_true", help="act even below the thresholds")
        parser.add_argument("--market-hours-only", action="store_true")
        parser.add_argument("--underlying", action="append", default=[], help="repeatable")

    def _symbols(self, sign: str, symbols: list[str]) -> None:
        shown = " ".join(symbols[:SYMBOLS_SHOWN])
        more = f" ... (+{len(symbols) - SYMBOLS_SHOWN})" if len(symbols) > SYMBOLS_SHOWN else ""
        self.stdout.write(f"  {sign} {len(symbols)}: {shown}{more}")

    def _print(self, outcome: UnderlyingRebalance, dry_run: bool) -> None:
        verb = "would change" if dry_run else ("changed" if outcome.acted else "unchanged")
        self.stdout.write(
            f"{outcome.name}: price={outcome.price} ({outcome.price_source or '-'}) "
            f"atm={outcome.atm_strike} window=[{outcome.strike_low}, {outcome.strike_high}] "
            f"expiries={','.join(e.isoformat() for e in outcome.expiries)} "
            f"wanted={outcome.wanted} reason={outcome.reason} -> {verb}"
        )
        if outcome.to_create:
            self._symbols("+ new", outcome.to_create)
        if outcome.to_activate:
            self._symbols("+ reactivate", outcome.to_activate)
        if outcome.to_deactivate:
            self._symbols("- deactivate", outcome.to_deactivate)

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run: bool = options["dry_run"]
        with configured_single_flight("rebalance_strikes", REBALANCE_HARD_LIMIT) as acquired:
            if not acquired and not dry_run:
                raise CommandError("another rebalance is running; try again later")
            report = underlyings_rebalance(
                now=timezone.now(),
                prices=configured_price_source(),
                calendar=configured_calendar(),
                dry_run=dry_run,
                force=options["force"],
                only_when_market_open=options["market_hours_only"],
                names=options["underlying"],
            )
        if report.skipped_reason:
            self.stdout.write(f"skipped: {report.skipped_reason}")
            return
        for outcome in report.underlyings:
            self._print(outcome, dry_run)
        self.stdout.write(f"{'dry run: ' if dry_run else ''}{report.changes} change(s)")
