"""``manage.py assign_subscriptions``: run the assignment now and print the load per account."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from subscriptions.wiring import configured_assignment

TOKENS_SHOWN = 20


class Command(BaseCommand):
    help = "Assign active subscriptions to healthy accounts (as the every-minute task does)."

    def handle(self, *args: Any, **options: Any) -> None:
        report = configured_assignment(now=timezone.now(), reason="command")
        self.stdout.write(
            f"active={report.active} assigned={report.assigned} unassigned={report.unassigned} "
            f"moved={report.moved} released={report.released} "
            f"reloaded_accounts={report.affected_account_ids}"
        )
        for account_id, load in sorted(report.load.items()):
            self.stdout.write(f"  account {account_id}: {load}/{report.capacity[account_id]}")
        if report.unassigned:
            shown = report.unassigned_tokens[:TOKENS_SHOWN]
            self.stdout.write(f"  unassigned tokens (capacity short): {shown}")
