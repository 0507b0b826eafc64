"""``manage.py rotate_credentials_key``: re-encrypt every secret with the newest key.

Put the new key first in CREDENTIALS_KEYS (keeping the old ones), run this, and drop an old
key only when it reports no failures. Safe to interrupt and rerun.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from accounts.models import Account
from accounts.services.rotation import credentials_rotate
from accounts.wiring import configured_cipher


class Command(BaseCommand):
    help = "Re-encrypt all account secrets with the newest key in CREDENTIALS_KEYS."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=100)

    def handle(self, *args: Any, **options: Any) -> None:
        total = Account.objects.count()
        with tqdm(total=total, unit="account", file=sys.stderr, disable=total == 0) as bar:
            report = credentials_rotate(
                cipher=configured_cipher(), batch_size=options["batch_size"], on_progress=bar.update
            )
        self.stdout.write(
            f"accounts: {report.accounts}, secrets re-encrypted: {report.rotated}, "
            f"already on the newest key: {report.already_current}, failed: {len(report.failed)}"
        )
        if report.failed:
            for problem in report.failed:
                self.stderr.write(problem)
            raise CommandError(
                "some secrets could not be decrypted with any key; do not drop old keys yet"
            )
        self.stdout.write(self.style.SUCCESS("All secrets are on the newest key."))
