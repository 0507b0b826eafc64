"""The chain page in a real browser: gunicorn serving the project (static files collected, as in
production), the Kite simulator, a real account worker streaming two NIFTY expiries, and Debian's
headless Chromium logged in as a staff user through the admin's form.

A missing /usr/bin/chromium fails the test naming it (`.ci/run` installs it); nothing is skipped.
"""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import override_settings

from subscriptions.models import Instrument
from tests.database_url import migrated_database_url
from tests.streaming.helpers import (
    load_simulator_instruments,
    run_worker,
    simulator_account,
    stream_messages,
    subscribe,
    worker_env,
)
from tests.ticker_project.live_stack import LiveServer, live_env
from ticker_project.headless_chromium import admin_log_in, chromium_context, require_chromium

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

STRIKES_PER_EXPIRY = 9
STAFF_USER = "chain-ops"
STAFF_PASSWORD = "chain-ops-password-1"  # a throwaway test user

# One evaluation, one render: the table, the summary and the plots as the page drew them.
SNAPSHOT_JS = """() => {
  const rows = [...document.querySelectorAll('#chain-table tbody tr[data-strike]')];
  const ivShown = side => rows
    .filter(r => r.querySelector(`td.${side}[data-col=iv]`).textContent !== '\\u2014')
    .map(r => Number(r.dataset.strike));
  const points = side => [...document.querySelectorAll(`#chain-smile circle[data-side=${side}]`)]
                              .map(c => Number(c.dataset.strike));
  return {
    strikes: rows.map(r => Number(r.dataset.strike)),
    atmRows: rows.filter(r => r.dataset.atm === 'true').map(r => Number(r.dataset.strike)),
    atmSummary: document.querySelector('[data-field=atm_strike]').textContent,
    ceIv: ivShown('ce'), peIv: ivShown('pe'), cePoints: points('ce'), pePoints: points('pe'),
    atmLines: document.querySelectorAll('#chain-smile line[data-atm-line]').length,
    oiBars: document.querySelectorAll('#chain-oi rect[data-side]').length,
    termPoints: document.querySelectorAll('#chain-term circle[data-expiry]').length,
    expiries: [...document.querySelectorAll('#chain-expiry option')].map(o => o.value),
    selected: document.getElementById('chain-expiry').value,
    table: document.querySelector('#chain-table tbody').textContent,
    lastRowPe: [...rows[rows.length - 1].querySelectorAll('td.pe')]
      .map(td => [td.textContent, td.classList.contains('missing')]),
    refreshes: Number(document.getElementById('chain-root').dataset.refreshes || 0),
    status: document.getElementById('chain-status').textContent,
    spot: document.querySelector('[data-field=spot]').textContent,
  };
}"""

# Every quoted cell (not the "—" of an unlisted side) greyed, and the spot too.
STALE_JS = """() => {
  const cells = [...document.querySelectorAll('#chain-table tbody td.ce, #chain-table tbody td.pe')]
                  .filter(td => !td.classList.contains('missing'));
  return cells.length > 0 && cells.every(td => td.classList.contains('stale'))
    && document.querySelector('[data-field=spot]').classList.contains('stale');
}"""


def _two_expiries_near_the_money(instruments: list[Instrument]) -> dict[str, list[Instrument]]:
    """NIFTY's second and third expiries, the strikes nearest 24,000, both sides of each."""
    options = [i for i in instruments if i.name == "NIFTY" and i.instrument_type in ("CE", "PE")]
    expiries = sorted({i.expiry for i in options if i.expiry is not None})[1:3]
    chosen: dict[str, list[Instrument]] = {}
    for expiry in expiries:
        of_expiry = [i for i in options if i.expiry == expiry]
        strikes = sorted({i.strike for i in of_expiry}, key=lambda k: abs(k - 24_000))
        near = set(strikes[:STRIKES_PER_EXPIRY])
        chosen[expiry.isoformat()] = [i for i in of_expiry if i.strike in near]
    # The near expiry's top strike streams its call only: that row's put side is null.
    near_expiry = min(chosen)
    top = max(i.strike for i in chosen[near_expiry])
    chosen[near_expiry] = [
        i for i in chosen[near_expiry] if not (i.strike == top and i.instrument_type == "PE")
    ]
    return chosen


def test_the_chain_page_draws_the_live_chain_and_refreshes_it(
    kite_simulator: Any, redis_client: redis.Redis, tmp_path: Path
) -> None:
    require_chromium()  # fails (never skips) naming /usr/bin/chromium when it is absent
    instruments = load_simulator_instruments(kite_simulator)
    chosen = _two_expiries_near_the_money(instruments)
    near_expiry, far_expiry = sorted(chosen)
    account = simulator_account(kite_simulator, kite_simulator.accounts[0])
    subscribe(account, [i for options in chosen.values() for i in options])
    User.objects.create_user(STAFF_USER, password=STAFF_PASSWORD, is_staff=True)
    static_root = tmp_path / "static"
    with override_settings(STATIC_ROOT=static_root):
        call_command("collectstatic", "--noinput", verbosity=0)
    expected_strikes = sorted({i.strike for i in chosen[near_expiry]})

    env = live_env(
        database_url=migrated_database_url(), redis_url=settings.REDIS_URL, DEBUG="0",
        SECURE_SSL_REDIRECT="0", SESSION_COOKIE_SECURE="0", CSRF_COOKIE_SECURE="0",
        STATIC_ROOT=str(static_root), API_THROTTLE_USER="100000/minute",
    )  # fmt: skip
    with run_worker(account.pk, worker_env(redis_url=settings.REDIS_URL)) as worker:
        # Every subscribed option has ticked at least once (one message per option or more).
        worker.wait_for(
            lambda: (
                len({m["token"] for m in stream_messages(redis_client, "options")})
                == sum(len(options) for options in chosen.values())
            ),
            timeout=60,
        )
        server = LiveServer(env)
        try:
            with chromium_context(tmp_path / "profile") as browser:
                errors: list[str] = []
                # From the admin index's "Live option chain" block to the page, as staff would.
                page = admin_log_in(browser, base_url=server.url, username=STAFF_USER,
                                    password=STAFF_PASSWORD, next_path="/admin/")  # fmt: skip
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                page.click("#chain-links a:text-is('NIFTY')")
                page.wait_for_url(f"{server.url}/admin/chain/NIFTY/")
                page.wait_for_function(
                    "n => document.querySelectorAll('#chain-table tbody tr[data-strike]').length"
                    " === n && document.querySelectorAll('#chain-smile circle').length > 0",
                    arg=len(expected_strikes),
                    timeout=30_000,
                )
                first = page.evaluate(SNAPSHOT_JS)
                # A later refresh (no reload: the same document) shows different market values.
                page.wait_for_function(
                    "([n, table]) => Number(document.getElementById('chain-root').dataset"
                    ".refreshes) > n && document.querySelector('#chain-table tbody')"
                    ".textContent !== table",
                    arg=[first["refreshes"], first["table"]],
                    timeout=30_000,
                )
                later = page.evaluate(SNAPSHOT_JS)
                # The expiry selector reloads the table for the other expiry.
                page.select_option("#chain-expiry", far_expiry)
                page.wait_for_function(
                    "e => new URL(location.href).searchParams.get('expiry') === e",
                    arg=far_expiry,
                )
                far_strikes = sorted({i.strike for i in chosen[far_expiry]})
                page.wait_for_function(
                    "s => [...document.querySelectorAll('#chain-table tbody tr[data-strike]')]"
                    ".map(r => Number(r.dataset.strike)).join() === s.join()",
                    arg=far_strikes,
                    timeout=30_000,
                )
                far = page.evaluate(SNAPSHOT_JS)
                # The worker stops: once no tick is younger than QUOTES_STALE_SECONDS, every
                # quoted cell and the spot are greyed as stale, their last values still shown.
                worker.stop()
                page.wait_for_function(STALE_JS, timeout=30_000)
                stale = page.evaluate(SNAPSHOT_JS)
            # The README's screenshot command, against the same live page.
            shot = tmp_path / "chain.png"
            call_command("chain_screenshot", url=server.url, out=shot, username=STAFF_USER,
                         password=STAFF_PASSWORD, stdout=StringIO())  # fmt: skip
        finally:
            server.stop()
        worker.stop()

    assert errors == []
    # One row per strike, ascending; the expiry is the nearest live one, both offered.
    assert first["strikes"] == expected_strikes
    assert first["expiries"] == [near_expiry, far_expiry] and first["selected"] == near_expiry
    # Exactly one ATM row, the summary's ATM strike.
    assert len(first["atmRows"]) == 1
    assert float(first["atmSummary"]) == first["atmRows"][0]
    # A point per priced strike on each side, at the strikes whose IV the table shows.
    for snapshot in (first, later, far):
        assert snapshot["cePoints"] == snapshot["ceIv"]
        assert snapshot["pePoints"] == snapshot["peIv"]
        assert snapshot["atmLines"] == 1
    assert len(first["cePoints"]) + len(first["pePoints"]) >= len(expected_strikes)
    assert first["oiBars"] == 2 * len(expected_strikes) - 1
    # The strike with no put: its put cells are "—" (never 0) and it has no put point.
    assert first["lastRowPe"] == [["\u2014", True]] * 11
    assert expected_strikes[-1] in first["cePoints"]
    assert expected_strikes[-1] not in first["pePoints"]
    assert first["termPoints"] == 2
    # A value changed after a refresh, in place.
    assert later["refreshes"] > first["refreshes"] and later["table"] != first["table"]
    assert far["selected"] == far_expiry and far["strikes"] == far_strikes
    assert far["status"].startswith("updated"), far["status"]
    # Stale, not hidden: the same strikes, the values still there, the spot marked.
    assert stale["strikes"] == far_strikes and stale["ceIv"] == far["ceIv"]
    assert "(stale)" in stale["spot"]
    assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
