"""Against the Kite simulator (a real ``run_simulator`` subprocess over real sockets): the
registry refresh from its dump, the same dump with corrupted rows (the simulator's
``corrupt_instruments`` fault), and ``rebalance_strikes --dry-run`` pricing the index with a
Kite ``ltp`` quote."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from io import StringIO

import pytest
import requests
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Account
from subscriptions.models import Instrument, Subscription
from subscriptions.services.instruments import instruments_refresh
from subscriptions.wiring import configured_dump_sources
from tests.accounts.factories import AccountFactory
from tests.simulator_fixtures import SimulatorHandle

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def sim_account(handle: SimulatorHandle, *, api_root: str | None = None) -> Account:
    credentials = handle.accounts[0]
    return AccountFactory.create(
        name="sim-0",
        api_key=credentials.api_key,
        access_token=credentials.access_token,
        api_root_override=api_root or handle.api_root,
    )


def test_refresh_from_the_simulator_dump(kite_simulator: SimulatorHandle) -> None:
    sim_account(kite_simulator)
    report = instruments_refresh(sources=configured_dump_sources(), now=timezone.now())
    assert report.bad_rows == []
    assert report.rows == report.created > 100
    assert Instrument.objects.filter(instrument_token=256265, tradingsymbol="NIFTY 50").exists()
    assert Instrument.objects.filter(name="NIFTY", instrument_type="CE").count() > 50
    again = instruments_refresh(sources=configured_dump_sources(), now=timezone.now())
    assert (again.created, again.updated, again.expired) == (0, report.rows, 0)


def test_refresh_of_a_corrupted_dump_reports_each_bad_row(
    simulator_factory: Callable[..., SimulatorHandle],
) -> None:
    sim = simulator_factory("--accounts", "1")
    clean_rows = len(requests.get(f"{sim.api_root}/instruments", timeout=10).text.splitlines()) - 1
    sim.control.fault("corrupt_instruments", lines=[10, 20, 30, 40])
    sim_account(sim)
    report = instruments_refresh(sources=configured_dump_sources(), now=timezone.now())
    assert {b.line: b.field for b in report.bad_rows} == {
        10: "strike",
        20: "lot_size",
        30: "expiry",
        40: "*",
    }
    assert all(b.reason for b in report.bad_rows)
    assert report.rows == clean_rows - 4
    assert Instrument.objects.count() == report.rows  # the good rows are all stored


def test_an_existing_instrument_whose_row_turns_bad_is_kept_with_its_subscription(
    simulator_factory: Callable[..., SimulatorHandle],
) -> None:
    sim = simulator_factory("--accounts", "1")
    account = sim_account(sim)
    instruments_refresh(sources=configured_dump_sources(), now=timezone.now())
    line_10 = requests.get(f"{sim.api_root}/instruments", timeout=10).text.splitlines()[9]
    instrument = Instrument.objects.get(instrument_token=int(line_10.split(",")[0]))
    subscription = Subscription.objects.create(instrument=instrument, account=account)

    sim.control.fault("corrupt_instruments", lines=[10])
    report = instruments_refresh(
        sources=configured_dump_sources(), now=timezone.now() + timedelta(seconds=1)
    )
    assert [(b.line, b.field) for b in report.bad_rows] == [(10, "strike")]
    assert report.expired == 0  # listed, only its row is broken: not vanished
    instrument.refresh_from_db()
    subscription.refresh_from_db()
    assert not instrument.is_expired
    assert subscription.status == "active"


def test_rebalance_dry_run_against_the_simulator_prints_a_diff(
    kite_simulator: SimulatorHandle, redis_client
) -> None:
    sim_account(kite_simulator)
    out = StringIO()
    call_command("refresh_instruments", stdout=out, stderr=StringIO())
    assert "bad_rows=0" in out.getvalue()
    out = StringIO()
    call_command("rebalance_strikes", "--dry-run", stdout=out)
    text = out.getvalue()
    assert "NIFTY: price=" in text and "(kite)" in text  # no snapshot in Redis: Kite ltp
    assert "BANKNIFTY: price=" in text
    # (2 x 10 + 1) strikes x (CE, PE) x 3 expiries, for each of NIFTY and BANKNIFTY
    assert text.count("+ new 126:") == 2
    assert "dry run: 252 change(s)" in text
    assert not Subscription.objects.exists()
