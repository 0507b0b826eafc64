"""Instrument registry refresh: fetch Kite's dump, validate every row, upsert, expire the vanished.

One transaction per refresh: the upsert, the expiry marking and the deactivation of the
expired instruments' subscriptions commit together, or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime

import structlog
from django.db import transaction
from kiteconnect import exceptions as kite_exceptions

from kite_wire.instruments_csv import InstrumentRow, read_instruments_csv
from subscriptions.kite_dump import DumpSource, fetch_instruments_csv
from subscriptions.metrics import INSTRUMENT_BAD_ROWS
from subscriptions.models import Instrument, Subscription, SubscriptionStatus
from subscriptions.triggers import assignment_request_on_commit, registry_changed_on_commit

log = structlog.get_logger(__name__)

UPSERT_FIELDS = (
    "exchange_token",
    "tradingsymbol",
    "name",
    "segment",
    "exchange",
    "instrument_type",
    "strike",
    "expiry",
    "lot_size",
    "tick_size",
    "last_price",
    "is_expired",
    "refreshed_at",
)
DEFAULT_BATCH_SIZE = 5000
# A daily dump loses the contracts that expired (a monthly expiry removes about a third of a
# chain at most); losing more than half at once means the dump itself is broken.
MAX_EXPIRED_FRACTION = 0.5

Fetcher = Callable[[DumpSource, str | None], bytes]


class InstrumentsRefreshError(RuntimeError):
    """The dump could not be fetched from any account, or held no valid row at all."""


@dataclass(frozen=True, slots=True)
class BadRow:
    dump: str  # "all" or the exchange fetched
    line: int
    field: str
    value: str
    reason: str


@dataclass
class RefreshReport:
    exchanges: list[str]
    source_account: str = ""
    rows: int = 0
    created: int = 0
    updated: int = 0
    expired: int = 0
    subscriptions_deactivated: int = 0
    bad_rows: list[BadRow] = field(default_factory=list)
    # Why nothing was expired although instruments seemed to vanish (empty when it expired).
    expiry_skipped: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _fetch(
    sources: Sequence[DumpSource], exchange: str | None, fetch: Fetcher
) -> tuple[str, bytes]:
    """The dump through the first account whose token Kite accepts."""
    rejected: list[str] = []
    for source in sources:
        try:
            return source.account_name, fetch(source, exchange)
        except kite_exceptions.TokenException:
            rejected.append(source.account_name)
            log.warning(
                "instruments_dump_token_rejected", account=source.account_name, exchange=exchange
            )
    raise InstrumentsRefreshError(
        f"no account could fetch the instruments dump (rejected: {rejected or 'none available'})"
    )


def _validated(
    dumps: Iterable[tuple[str, bytes]], report: RefreshReport
) -> tuple[dict[int, InstrumentRow], set[int]]:
    """Valid rows by token, and the tokens of rows that are listed but broken."""
    rows: dict[int, InstrumentRow] = {}
    listed_but_broken: set[int] = set()
    for dump_name, raw in dumps:
        parsed = read_instruments_csv(raw)  # a wrong header raises InstrumentsCsvError
        report.bad_rows.extend(
            BadRow(dump_name, e.line, e.field, e.value, e.reason) for e in parsed.errors
        )
        listed_but_broken.update(e.instrument_token for e in parsed.errors if e.instrument_token)
        for row in parsed.rows:
            if row.instrument_token in rows:
                # Good rows carry no line number; the token names the duplicate.
                report.bad_rows.append(
                    BadRow(
                        dump_name,
                        0,
                        "instrument_token",
                        str(row.instrument_token),
                        "duplicate instrument_token; the first row is kept",
                    )
                )
                continue
            rows[row.instrument_token] = row
    return rows, listed_but_broken


def _model(row: InstrumentRow, now: datetime) -> Instrument:
    return Instrument(
        instrument_token=row.instrument_token,
        exchange_token=row.exchange_token,
        tradingsymbol=row.tradingsymbol,
        name=row.name,
        segment=row.segment,
        exchange=row.exchange,
        instrument_type=row.instrument_type,
        strike=row.strike,
        expiry=row.expiry,
        lot_size=row.lot_size,
        tick_size=row.tick_size,
        last_price=row.last_price,
        is_expired=False,
        refreshed_at=now,
    )


def instruments_upsert(
    *,
    rows: Sequence[InstrumentRow],
    now: datetime,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_progress: Callable[[int], object] | None = None,
) -> tuple[int, int]:
    """Insert or update ``rows`` by instrument_token in batches; (created, updated).

    Readers that cache the registry are told after commit (in ``instruments_refresh`` that
    commit also covers the instruments it marks expired).
    """
    existing_rows = Instrument.objects.all()
    if len(rows) <= batch_size:  # small refreshes look up their own tokens only
        existing_rows = existing_rows.filter(
            instrument_token__in=[r.instrument_token for r in rows]
        )
    existing = set(existing_rows.values_list("instrument_token", flat=True))
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        Instrument.objects.bulk_create(
            [_model(row, now) for row in chunk],
            update_conflicts=True,
            unique_fields=["instrument_token"],
            update_fields=list(UPSERT_FIELDS),
        )
        if on_progress is not None:
            on_progress(len(chunk))
    if rows:
        registry_changed_on_commit(reason="instruments_upserted")
    created = sum(1 for r in rows if r.instrument_token not in existing)
    return created, len(rows) - created


def instruments_refresh(
    *,
    sources: Sequence[DumpSource],
    exchanges: Sequence[str] = (),
    now: datetime,
    fetch: Fetcher = fetch_instruments_csv,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_progress: Callable[[int], object] | None = None,
) -> RefreshReport:
    """Refresh the registry from the dump of ``exchanges`` (all when empty).

    Instruments of the refreshed scope that the dump no longer lists are marked expired and
    their active subscriptions deactivated. What a broken dump must not do is wipe the registry:
    an instrument whose row is listed but invalid is kept as it was (not expired), a dump with
    no valid row raises, and a dump that would expire more than ``MAX_EXPIRED_FRACTION`` of the
    scope is taken for incomplete: it updates what it holds and expires nothing.
    """
    wanted = [e.upper() for e in exchanges]
    report = RefreshReport(exchanges=wanted or ["all"])
    dumps: list[tuple[str, bytes]] = []
    scopes: list[str | None] = list(wanted) or [None]
    for exchange in scopes:
        account_name, raw = _fetch(sources, exchange, fetch)
        report.source_account = account_name
        dumps.append((exchange or "all", raw))
    rows_by_token, listed_but_broken = _validated(dumps, report)
    rows = list(rows_by_token.values())
    report.rows = len(rows)
    if report.bad_rows:
        INSTRUMENT_BAD_ROWS.inc(len(report.bad_rows))
        for bad in report.bad_rows[:20]:
            log.warning("instrument_row_rejected", **asdict(bad))
    if not rows:
        raise InstrumentsRefreshError(
            f"the instruments dump of {report.exchanges} held no valid row "
            f"({len(report.bad_rows)} bad); nothing changed"
        )

    with transaction.atomic():
        report.created, report.updated = instruments_upsert(
            rows=rows, now=now, batch_size=batch_size, on_progress=on_progress
        )
        scope = Instrument.objects.filter(is_expired=False).exclude(refreshed_at=now)
        if wanted:
            present = {row.exchange for row in rows}
            scope = scope.filter(exchange__in=[e for e in wanted if e in present])
        in_scope = scope.count() + len(rows)
        vanished_ids = list(
            scope.exclude(instrument_token__in=listed_but_broken).values_list("pk", flat=True)
        )
        if len(vanished_ids) > MAX_EXPIRED_FRACTION * in_scope:
            report.expiry_skipped = (
                f"{len(vanished_ids)} of {in_scope} instruments would expire: "
                "the dump looks incomplete, so none were"
            )
            log.error("instruments_expiry_skipped", reason=report.expiry_skipped)
            vanished_ids = []
        report.expired = Instrument.objects.filter(pk__in=vanished_ids).update(is_expired=True)
        report.subscriptions_deactivated = Subscription.objects.filter(
            instrument_id__in=vanished_ids, status=SubscriptionStatus.ACTIVE
        ).update(status=SubscriptionStatus.INACTIVE, updated_at=now)
        if report.subscriptions_deactivated:
            assignment_request_on_commit(reason="instruments_expired")
    log.info(
        "instruments_refreshed",
        exchanges=report.exchanges,
        account=report.source_account,
        rows=report.rows,
        created=report.created,
        updated=report.updated,
        expired=report.expired,
        bad_rows=len(report.bad_rows),
        subscriptions_deactivated=report.subscriptions_deactivated,
    )
    return report
