"""Registry refresh from a dump served over a real socket: validation, upsert, expiry, report."""

from __future__ import annotations

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import AccountStatus
from kite_wire.instruments_csv import InstrumentRow, write_instruments_csv
from subscriptions.models import Instrument, Subscription, SubscriptionStatus
from subscriptions.services.instruments import InstrumentsRefreshError, instruments_refresh
from subscriptions.wiring import configured_dump_sources
from tests.accounts.factories import AccountFactory
from tests.subscriptions.factories import SubscriptionFactory
from tests.subscriptions.kite_stub import KiteStub

pytestmark = pytest.mark.django_db

EXPIRY = date(2026, 12, 29)


def option(n: int, kind: str = "CE") -> InstrumentRow:
    strike = 24_000 + 50 * n
    return InstrumentRow(
        instrument_token=(40_000 + n * 2 + (kind == "PE")) * 256 + 2,
        exchange_token=40_000 + n * 2 + (kind == "PE"),
        tradingsymbol=f"NIFTY26DEC{strike}{kind}",
        name="NIFTY",
        last_price=120.5,
        expiry=EXPIRY,
        strike=float(strike),
        tick_size=0.05,
        lot_size=65,
        instrument_type=kind,
        segment="NFO-OPT",
        exchange="NFO",
    )


INDEX = InstrumentRow(
    256265, 1001, "NIFTY 50", "NIFTY 50", 24_000.0, None, 0.0, 0.05, 1, "EQ", "INDICES", "NSE"
)


def dump(rows: list[InstrumentRow], *, corrupt: bool = False) -> str:
    text = write_instruments_csv(rows)
    if not corrupt:
        return text
    lines = text.splitlines()
    # line 2 (first data row): strike "abc"; line 4: a missing column; line 6: a bad expiry.
    cells = lines[1].split(",")
    cells[6] = "abc"
    lines[1] = ",".join(cells)
    lines[3] = ",".join(lines[3].split(",")[:-1])
    cells = lines[5].split(",")
    cells[5] = "29-12-2026"
    lines[5] = ",".join(cells)
    return "\n".join(lines) + "\n"


@pytest.fixture
def account(stub: KiteStub):
    return AccountFactory.create(api_root_override=stub.root, access_token="tok-live-1")


def test_refresh_upserts_reports_bad_rows_with_line_and_field(stub: KiteStub, account) -> None:
    rows = [INDEX, *(option(n) for n in range(10))]
    stub.csv("/instruments", dump(rows, corrupt=True))
    report = instruments_refresh(sources=configured_dump_sources(), now=timezone.now())
    assert report.rows == 8
    assert report.created == 8
    assert report.updated == 0
    assert [(b.line, b.field) for b in report.bad_rows] == [(2, "strike"), (4, "*"), (6, "expiry")]
    assert "not a number" in report.bad_rows[0].reason
    assert Instrument.objects.count() == 8
    assert not Instrument.objects.filter(
        tradingsymbol=rows[0].tradingsymbol
    ).exists()  # no silent 0
    path, headers = stub.requests[-1]
    assert path == "/instruments"
    assert headers["X-Kite-Version"] == "3"
    assert headers["Authorization"].startswith("token apikey") and headers[
        "Authorization"
    ].endswith(":tok-live-1")


def test_vanished_instruments_expire_and_their_subscriptions_deactivate(
    stub: KiteStub, account, django_capture_on_commit_callbacks
) -> None:
    rows = [INDEX, *(option(n) for n in range(6))]
    stub.csv("/instruments", dump(rows))
    instruments_refresh(sources=configured_dump_sources(), now=timezone.now())
    gone = Instrument.objects.get(tradingsymbol=rows[-1].tradingsymbol)
    subscription = SubscriptionFactory.create(instrument=gone, account=account)
    kept = SubscriptionFactory.create(
        instrument=Instrument.objects.get(tradingsymbol=rows[1].tradingsymbol)
    )

    stub.csv("/instruments", dump(rows[:-1]))
    with django_capture_on_commit_callbacks() as callbacks:
        report = instruments_refresh(
            sources=configured_dump_sources(), now=timezone.now() + timedelta(seconds=1)
        )
    assert (report.rows, report.created, report.updated, report.expired) == (6, 0, 6, 1)
    assert report.subscriptions_deactivated == 1
    # After commit: the assignment is asked to run, and readers that cache the registry (the
    # chain API) get a new registry version.
    assert len(callbacks) == 2
    gone.refresh_from_db()
    assert gone.is_expired
    subscription.refresh_from_db()
    kept.refresh_from_db()
    assert subscription.status == SubscriptionStatus.INACTIVE
    assert kept.status == SubscriptionStatus.ACTIVE

    # it comes back in a later dump: no longer expired (the subscription stays off)
    stub.csv("/instruments", dump(rows))
    instruments_refresh(
        sources=configured_dump_sources(), now=timezone.now() + timedelta(seconds=2)
    )
    gone.refresh_from_db()
    assert not gone.is_expired


def test_exchange_refresh_expires_only_that_exchange(stub: KiteStub, account) -> None:
    stub.csv("/instruments", dump([INDEX, option(1)]))
    instruments_refresh(sources=configured_dump_sources(), now=timezone.now())
    stub.csv("/instruments/NFO", dump([option(2)]))
    report = instruments_refresh(
        sources=configured_dump_sources(),
        exchanges=["nfo"],
        now=timezone.now() + timedelta(seconds=1),
    )
    assert report.exchanges == ["NFO"]
    assert report.expired == 1  # option(1); the NSE index is outside the scope
    assert not Instrument.objects.get(instrument_token=INDEX.instrument_token).is_expired
    assert stub.requests[-1][0] == "/instruments/NFO"


def test_a_dump_without_valid_rows_changes_nothing(stub: KiteStub, account) -> None:
    stub.csv("/instruments", dump([INDEX, option(1)]))
    instruments_refresh(sources=configured_dump_sources(), now=timezone.now())
    stub.csv(
        "/instruments",
        "instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,tick_size,lot_size,instrument_type,segment,exchange\n1,x\n",
    )
    with pytest.raises(InstrumentsRefreshError, match="no valid row"):
        instruments_refresh(sources=configured_dump_sources(), now=timezone.now())
    assert Instrument.objects.filter(is_expired=True).count() == 0


def test_rejected_token_falls_back_to_the_next_account(stub: KiteStub) -> None:
    with_dead_token = AccountFactory.create(name="a-dead", api_root_override=stub.root + "/dead")
    AccountFactory.create(name="b-live", api_root_override=stub.root)
    AccountFactory.create(name="c-off", api_root_override=stub.root, status=AccountStatus.DISABLED)
    stub.error("/dead/instruments", 403, "TokenException", "Incorrect `api_key` or `access_token`.")
    stub.csv("/instruments", dump([INDEX]))
    report = instruments_refresh(sources=configured_dump_sources(), now=timezone.now())
    assert report.source_account == "b-live"
    assert with_dead_token.name != report.source_account


def test_command_prints_a_summary_with_bad_rows(stub: KiteStub, account) -> None:
    stub.csv("/instruments", dump([INDEX, *(option(n) for n in range(6))], corrupt=True))
    out, err = StringIO(), StringIO()
    call_command("refresh_instruments", stdout=out, stderr=err)
    text = out.getvalue()
    assert "rows=4 created=4 updated=0 expired=0 bad_rows=3" in text
    assert "line=2 strike='abc': not a number" in text
    assert "rows" in err.getvalue()  # the progress bar


def test_upsert_query_count_is_per_batch_not_per_row(
    stub: KiteStub, account, django_assert_max_num_queries
) -> None:
    stub.csv("/instruments", dump([INDEX, *(option(n) for n in range(300))]))
    sources = configured_dump_sources()
    with django_assert_max_num_queries(12):
        report = instruments_refresh(sources=sources, now=timezone.now(), batch_size=100)
    assert report.created == 301
    assert Subscription.objects.count() == 0


def test_a_dump_cut_short_expires_nothing_and_says_why(stub: KiteStub, account) -> None:
    rows = [INDEX, *(option(n) for n in range(10))]
    stub.csv("/instruments", dump(rows))
    instruments_refresh(sources=configured_dump_sources(), now=timezone.now())
    subscribed = Instrument.objects.get(tradingsymbol=rows[-1].tradingsymbol)
    subscription = SubscriptionFactory.create(instrument=subscribed, account=account)

    stub.csv("/instruments", dump(rows[:3]))  # 8 of 11 would vanish: not a daily expiry
    report = instruments_refresh(
        sources=configured_dump_sources(), now=timezone.now() + timedelta(seconds=1)
    )
    assert report.updated == 3
    assert report.expired == 0
    assert report.expiry_skipped.startswith("8 of 11 instruments would expire")
    assert not Instrument.objects.filter(is_expired=True).exists()
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE
