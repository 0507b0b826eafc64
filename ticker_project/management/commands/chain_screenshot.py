"""``manage.py chain_screenshot``: the README's picture of the chain page, from a running server.

Logs in through the admin's form (the demo's user by default), opens /admin/chain/<UNDERLYING>/
in Debian's headless Chromium, waits until the page has drawn a live chain (rows, the ATM row,
smile points) and refreshed it once more, and saves a full-page PNG. With ``make demo`` running:

    make chain-screenshot        # = manage.py chain_screenshot --out docs/img/chain.png
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from playwright.sync_api import Error as PlaywrightError

from ticker_project.headless_chromium import ChromiumMissing, admin_log_in, chromium_context
from ticker_project.management.commands.run_demo import DEMO_PASSWORD, DEMO_USERNAME

DRAWN_JS = (
    "() => document.querySelector('#chain-table tr[data-atm]') !== null"
    " && document.querySelectorAll('#chain-smile circle').length > 0"
    " && Number(document.getElementById('chain-root').dataset.refreshes || 0) >= 2"
)


class Command(BaseCommand):
    help = "Save a screenshot of the live chain page of a running server (the README's image)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="the server's root")
        parser.add_argument("--underlying", default="NIFTY")
        parser.add_argument("--out", type=Path, default=Path("docs/img/chain.png"))
        parser.add_argument("--username", default=DEMO_USERNAME)
        parser.add_argument("--password", default=DEMO_PASSWORD)
        parser.add_argument("--width", type=int, default=1600)
        parser.add_argument("--height", type=int, default=1000)
        parser.add_argument(
            "--wait-seconds", type=float, default=60.0, help="how long to wait for a live chain"
        )

    def handle(self, *args: object, **options: object) -> None:
        base = str(options["url"]).rstrip("/")
        out = Path(str(options["out"]))
        page_path = f"/admin/chain/{options['underlying']}/"
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            with (
                tempfile.TemporaryDirectory(prefix="chain-screenshot-") as profile,
                chromium_context(
                    Path(profile), width=int(str(options["width"])),
                    height=int(str(options["height"])),
                ) as browser,
            ):  # fmt: skip
                page = admin_log_in(
                    browser, base_url=base, username=str(options["username"]),
                    password=str(options["password"]), next_path=page_path,
                )  # fmt: skip
                page.wait_for_function(DRAWN_JS, timeout=float(str(options["wait_seconds"])) * 1000)
                page.screenshot(path=str(out), full_page=True)
        except (ChromiumMissing, PlaywrightError, RuntimeError) as exc:
            raise CommandError(f"no screenshot of {base}{page_path}: {exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"saved {out} ({base}{page_path})"))
