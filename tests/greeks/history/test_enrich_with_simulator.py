"""``historical_greeks_enrich`` and ``backfill_greeks`` against the Kite simulator and PostgreSQL.

Each test runs a private simulator (a real ``run_simulator`` subprocess, real sockets) whose
accounts are stored as Account rows, refreshes the registry from its dump, and fetches a few
NIFTY options over the last two calendar days before today (IST): real HTTP, real 3/s limits,
the real store. The simulator's own counts say whether any request was refused (429).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import Account, AccountStatus
from greeks.history.enrich import EnrichProgress, EnrichSummary
from greeks.history.selectors import instruments_for_backfill
from greeks.history.wiring import configured_enrich, configured_tz
from greeks.models import OptionCandle, UnderlyingCandle
from greeks.tasks import enrich_subscribed_day
from subscriptions.models import Instrument, Subscription, SubscriptionStatus, Underlying
from subscriptions.services.instruments import instruments_refresh
from subscriptions.wiring import configured_dump_sources
from tests.accounts.factories import AccountFactory
from tests.simulator_fixtures import REPO_ROOT, SimulatorHandle
from tests.subscriptions.factories import SubscriptionFactory

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@dataclass(frozen=True)
class World:
    sim: SimulatorHandle
    accounts: list[Account]
    options: list[Instrument]
    start: date
    end: date


def _world(sim: SimulatorHandle) -> World:
    accounts = [
        AccountFactory.create(name=f"sim-{n}", api_key=a.api_key, access_token=a.access_token,
                              api_root_override=sim.api_root)
        for n, a in enumerate(sim.accounts, start=1)
    ]  # fmt: skip
    instruments_refresh(sources=configured_dump_sources(), now=timezone.now())
    today = timezone.now().astimezone(configured_tz()).date()
    end = today - timedelta(days=1)
    while end.weekday() >= 5:  # the last weekday before today
        end -= timedelta(days=1)
    start = end - timedelta(days=1)
    expiry = (
        Instrument.objects.filter(name="NIFTY", instrument_type="CE", expiry__gte=today)
        .order_by("expiry")
        .values_list("expiry", flat=True)
        .first()
    )
    options = list(instruments_for_backfill(underlying="NIFTY", expiry=expiry, strikes=2,
                                            expiring_from=start))  # fmt: skip
    return World(sim=sim, accounts=accounts, options=options, start=start, end=end)


@pytest.fixture
def world(simulator_factory: Callable[..., SimulatorHandle], redis_client: object) -> World:
    return _world(simulator_factory("--accounts", "2"))


def _refused(sim: SimulatorHandle) -> int:
    limits = sim.control.state()["rate_limits"]
    return sum(b.get("historical", {}).get("refused", 0) for b in limits.values())


def _enrich(w: World, **overrides: object) -> EnrichSummary:
    kwargs: dict[str, object] = {"instruments": w.options, "interval": "minute",
                                 "start": w.start, "end": w.end, "now": timezone.now()}  # fmt: skip
    kwargs.update(overrides)
    return configured_enrich(**kwargs)  # type: ignore[arg-type]


def test_candles_are_fetched_priced_and_stored_and_a_rerun_resumes(world: World) -> None:
    assert len(world.options) == 4  # 2 strikes x CE/PE
    events: list[EnrichProgress] = []
    summary = _enrich(world, on_progress=events.append)
    # One request per option (two days fit one minute request) plus one for the index.
    assert summary.requests_planned == summary.requests == 5
    assert [e.requests_done for e in events] == [1, 2, 3, 4, 5]
    assert summary.failed_by_reason == {} and summary.bad_rows_by_reason == {}
    stored = OptionCandle.objects.filter(instrument__in=world.options, interval="minute").count()
    assert stored == summary.candles_stored > 0
    assert summary.candles_priced > 0.9 * summary.candles_stored  # near-the-money options price
    assert UnderlyingCandle.objects.count() == summary.underlying_candles_stored > 0
    assert summary.days_done == 2 * 4
    assert _refused(world.sim) == 0
    # Every (instrument, day) is done: a second run has nothing to fetch.
    again = _enrich(world)
    assert (again.requests_planned, again.requests, again.days_already_done) == (0, 0, 8)
    # Forced, it refetches and the store changes nothing (the same rows, no duplicates).
    forced = _enrich(world, resume=False)
    assert forced.requests == 5 and forced.candles_stored == summary.candles_stored
    assert OptionCandle.objects.count() == stored


def test_an_interrupted_run_continues_where_it_stopped(world: World) -> None:
    first = _enrich(world, instruments=world.options[:2])
    assert first.days_done == 4
    rest = _enrich(world)
    # Only the two options not done yet are fetched (and the index for their days).
    assert rest.days_already_done == 4 and rest.requests == 3 and rest.days_done == 4


def test_without_an_underlying_the_candles_are_stored_without_iv(world: World) -> None:
    Underlying.objects.filter(name="NIFTY").delete()
    summary = _enrich(world, instruments=world.options[:1])
    assert summary.requests == 1  # no index to fetch
    assert summary.candles_priced == 0
    assert summary.unpriced_by_reason == {"no_underlying_price": summary.candles_stored}
    rows = OptionCandle.objects.filter(instrument=world.options[0])
    assert rows.count() == summary.candles_stored > 0
    assert set(rows.values_list("iv_error", flat=True)) == {"no_underlying_price"}
    assert not rows.filter(iv__isnull=False).exists()
    assert not rows.filter(underlying_close__isnull=False).exists()


def test_a_dead_session_marks_the_account_and_the_other_one_fetches(world: World) -> None:
    world.sim.control.fault("expire_tokens", api_key=world.sim.accounts[0].api_key)
    summary = _enrich(world)
    dead = Account.objects.get(pk=world.accounts[0].pk)
    assert dead.status == AccountStatus.NEEDS_LOGIN
    assert "TokenException" in dead.status_reason or "historical" in dead.status_reason
    assert summary.dead_account_ids == [world.accounts[0].pk]
    assert summary.failed_by_reason == {} and summary.candles_stored > 0
    assert Account.objects.get(pk=world.accounts[1].pk).status == AccountStatus.ACTIVE


def _backfill(w: World, *args: str) -> str:
    out = StringIO()
    expiry = w.options[0].expiry
    assert expiry is not None
    call_command("backfill_greeks", "--underlying", "NIFTY", "--expiry", expiry.isoformat(),
                 "--strikes", "1", "--from", w.start.isoformat(), "--to", w.end.isoformat(),
                 *args, stdout=out, stderr=StringIO())  # fmt: skip
    return out.getvalue()


def test_the_command_prints_a_summary_and_refuses_bad_input(world: World) -> None:
    dry = _backfill(world, "--dry-run")
    assert "requests=0 (planned 3)" in dry and "dry run" in dry
    assert OptionCandle.objects.count() == 0
    out = _backfill(world)
    assert "requests=3 (planned 3)" in out and "stored=" in out
    assert OptionCandle.objects.count() > 0
    with pytest.raises(CommandError, match="unknown underlying"):
        call_command("backfill_greeks", "--underlying", "NOPE", "--from", "2026-01-02",
                     "--to", "2026-01-02")  # fmt: skip
    with pytest.raises(CommandError, match="is after"):
        call_command("backfill_greeks", "--underlying", "NIFTY", "--from", "2026-01-05",
                     "--to", "2026-01-02")  # fmt: skip
    with pytest.raises(CommandError, match="interval"):
        _backfill(world, "--interval", "2minute")


def test_the_command_fails_when_nothing_could_be_fetched(world: World) -> None:
    world.sim.control.fault("expire_tokens")
    with pytest.raises(CommandError, match="nothing could be fetched"):
        _backfill(world, "--no-resume")
    assert all(
        a.status == AccountStatus.NEEDS_LOGIN
        for a in Account.objects.filter(name__startswith="sim-")
    )


def test_a_bad_date_exits_non_zero_from_the_shell() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "backfill_greeks", "--underlying", "NIFTY",
         "--from", "2026-13-01", "--to", "2026-01-02"],
        cwd=REPO_ROOT, capture_output=True, text=True, env=os.environ.copy(), check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "--from '2026-13-01' is not a date" in result.stderr


def test_the_nightly_task_enriches_the_options_subscribed_that_day(world: World) -> None:
    tz = configured_tz()
    day = world.end
    during = timezone.make_aware(datetime.combine(day, time(11, 0)), tz)
    before = during - timedelta(days=3)
    active, left_that_day, left_before, not_yet = (
        SubscriptionFactory.create(instrument=i) for i in world.options
    )
    Subscription.objects.filter(pk=active.pk).update(created_at=before)
    Subscription.objects.filter(pk=left_that_day.pk).update(
        status=SubscriptionStatus.INACTIVE, created_at=before, updated_at=during
    )
    Subscription.objects.filter(pk=left_before.pk).update(
        status=SubscriptionStatus.INACTIVE, created_at=before, updated_at=before
    )
    Subscription.objects.filter(pk=not_yet.pk).update(created_at=during + timedelta(days=1))
    result = enrich_subscribed_day.apply(kwargs={"day": day.isoformat()}).get()
    assert result["day"] == day.isoformat() and result["instruments"] == 2
    stored = set(OptionCandle.objects.values_list("instrument_id", flat=True).distinct())
    assert stored == {active.instrument_id, left_that_day.instrument_id}
    assert result["failed_by_reason"] == {} and result["candles_stored"] > 0
    saturday = day + timedelta(days=(5 - day.weekday()) % 7)
    skipped = enrich_subscribed_day.apply(kwargs={"day": saturday.isoformat()}).get()
    assert skipped == {"skipped": "not_a_trading_day", "day": saturday.isoformat()}


def test_bad_candles_are_counted_by_reason_and_an_unparsable_answer_stays_to_do(
    world: World,
) -> None:
    one = world.options[:1]
    world.sim.control.fault("corrupt_candles", requests=2, kind="null_close")
    summary = _enrich(world, instruments=one)
    # Index and option answers both lost every 10th close: counted, never read as 0.
    assert set(summary.bad_rows_by_reason) == {"bad_close"}
    assert summary.bad_rows_by_reason["bad_close"] > 0
    assert not OptionCandle.objects.filter(close=0).exists()
    assert OptionCandle.objects.count() == summary.candles_stored > 0
    world.sim.control.fault("corrupt_candles", requests=1, kind="bad_date")
    other = _enrich(world, instruments=world.options[1:2])
    # kiteconnect's parser fails the index's whole answer: its option is not priced without it.
    assert other.failed_by_reason == {"unparsable_response": 1, "underlying_unavailable": 1}
    assert other.days_done == 0
    again = _enrich(world, instruments=world.options[1:2])  # the next run does those days
    assert again.failed_by_reason == {} and again.days_done == 2
