"""Debian's Chromium, headless, driven by Playwright: the chain page's browser test and the
README screenshot (``manage.py chain_screenshot``) both start it here.

The browser is the machine's own (/usr/bin/chromium, Debian's ``chromium`` package; `.ci/run`
installs it), never one Playwright downloads. The flags keep it off the network: this machine
refuses outside connections and Chromium's background services would try them at every start.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from playwright.sync_api import BrowserContext, Page, sync_playwright

CHROMIUM_PATH: Final = Path("/usr/bin/chromium")
CHROMIUM_FLAGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


class ChromiumMissing(RuntimeError):
    """/usr/bin/chromium is not installed."""


def require_chromium() -> Path:
    if not CHROMIUM_PATH.exists():
        raise ChromiumMissing(
            f"Debian's Chromium is not installed ({CHROMIUM_PATH} is missing): "
            "`apt-get install -y chromium` (.ci/run does this when it is absent)"
        )
    return CHROMIUM_PATH


@contextmanager
def chromium_context(
    profile_dir: Path, *, width: int = 1500, height: int = 1000
) -> Iterator[BrowserContext]:
    """A headless Chromium with a fresh profile in ``profile_dir`` (empty or absent)."""
    executable = require_chromium()
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile_dir),
            executable_path=str(executable),
            headless=True,
            args=list(CHROMIUM_FLAGS),
            viewport={"width": width, "height": height},
        )
        try:
            yield context
        finally:
            context.close()


def admin_log_in(
    context: BrowserContext, *, base_url: str, username: str, password: str, next_path: str
) -> Page:
    """Log in through the admin's own form; the page it returns is at ``next_path``."""
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(f"{base_url}/admin/login/?next={next_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("input[type=submit]")
    if "/admin/login/" in page.url:
        raise RuntimeError(f"admin login as {username!r} failed at {base_url}")
    return page
