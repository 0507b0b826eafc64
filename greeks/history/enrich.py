"""``historical_greeks_enrich``: fetch option and underlying candles, price and store them.

The one entry point of the nightly task, the ``backfill_greeks`` command and the admin action.

1. Plan: every IST calendar day in ``[start, end]`` per option, minus the days already done
   (`HistoryProgress`), grouped into runs of consecutive days within Kite's span limit; the
   underlying index is fetched once per run of the union of its options' pending days.
2. Fetch the underlyings, then the options, through `HistoricalFetchPool` (every healthy
   account, each within its api_key's 3/s, retries by the one policy). Rows are validated at the
   edge (`candles_validate`); bad rows are counted by reason.
3. Each option's run is priced and stored in one call of the store (issue 10a's
   ``option_candles_price_and_store``), with the whole underlying series for alignment. An option
   run whose underlying fetch failed is not priced (it would be stored without an underlying
   price for good): it fails as ``underlying_unavailable`` and is redone by the next run.
4. A stored run's closed days are marked done. A dead session marks its account needs_login
   (the accounts service), and the other accounts take its requests.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from typing import Final, Protocol
from zoneinfo import ZoneInfo

import numpy as np
import structlog

from accounts.models import Account
from accounts.services.account import account_mark_needs_login
from greeks.history.fetch import (
    Fetched,
    FetchFailed,
    FetchJob,
    HistoricalFetchPool,
    Outcome,
    SessionDead,
)
from greeks.history.metrics import HISTORY_CANDLES
from greeks.history.progress import HistoryProgress
from greeks.history.records import CandleSeries
from greeks.history.validate import candles_validate
from kite_wire.historical import INTERVALS, DayRun, SpanError, day_runs
from subscriptions.models import Instrument
from subscriptions.selectors import underlying_index_tokens_by_name

log = structlog.get_logger(__name__)

SESSION_CLOSE: Final = clock_time(15, 30)
UNDERLYING: Final = "underlying"
OPTION: Final = "option"


class EnrichInputError(ValueError):
    """The request cannot be planned (unknown interval, start after end)."""


@dataclass(frozen=True)
class StoreCounts:
    """What one price-and-store call did (issue 10a's counts, in this service's terms)."""

    priced: int
    stored: int
    unpriced_by_reason: dict[str, int] = field(default_factory=dict)  # iv_error -> candles


class CandleStore(Protocol):
    """Pricing and bulk storage (issue 10a), bound to the worker's GreeksDefaults by the caller."""

    def store_underlying(self, *, series: CandleSeries, now: datetime) -> int | None:
        """Candles stored, or None when the index is not in the registry (nothing stored)."""

    def store_option(
        self,
        *,
        instrument: Instrument,
        option: CandleSeries,
        underlying: CandleSeries | None,
        now: datetime,
    ) -> StoreCounts: ...


@dataclass
class EnrichSummary:
    instruments: int = 0
    requests_planned: int = 0
    requests: int = 0
    candles_fetched: int = 0
    candles_priced: int = 0
    candles_stored: int = 0
    underlying_candles_stored: int = 0
    bad_rows_by_reason: dict[str, int] = field(default_factory=dict)
    unpriced_by_reason: dict[str, int] = field(default_factory=dict)
    failed_by_reason: dict[str, int] = field(default_factory=dict)  # requests, by reason
    days_already_done: int = 0
    days_done: int = 0
    dead_account_ids: list[int] = field(default_factory=list)
    seconds: float = 0.0
    dry_run: bool = False

    @property
    def nothing_fetched(self) -> bool:
        """True when requests were due and none brought candles back."""
        return self.requests_planned > 0 and self.candles_fetched == 0

    def as_dict(self) -> dict[str, object]:
        return {
            "instruments": self.instruments,
            "requests_planned": self.requests_planned,
            "requests": self.requests,
            "candles_fetched": self.candles_fetched,
            "candles_priced": self.candles_priced,
            "candles_stored": self.candles_stored,
            "underlying_candles_stored": self.underlying_candles_stored,
            "bad_rows_by_reason": dict(self.bad_rows_by_reason),
            "unpriced_by_reason": dict(self.unpriced_by_reason),
            "failed_by_reason": dict(self.failed_by_reason),
            "days_already_done": self.days_already_done,
            "days_done": self.days_done,
            "dead_account_ids": list(self.dead_account_ids),
            "seconds": round(self.seconds, 3),
            "dry_run": self.dry_run,
        }


@dataclass(frozen=True)
class EnrichProgress:
    """Reported after every finished request (for a progress bar)."""

    requests_done: int
    requests_planned: int
    summary: EnrichSummary


ProgressCallback = Callable[[EnrichProgress], None]


def _closed_days(days: Sequence[date], *, now: datetime, tz: ZoneInfo) -> list[date]:
    """The days whose session had closed at ``now`` (only those may be marked done)."""
    local = now.astimezone(tz)
    today = local.date()
    return [d for d in days if d < today or (d == today and local.time() >= SESSION_CLOSE)]


def _concat(parts: list[CandleSeries], token: int, interval: str) -> CandleSeries:
    def cat(name: str, dtype: type) -> np.ndarray:
        arrays = [getattr(p, name) for p in parts]
        return np.concatenate(arrays).astype(dtype) if arrays else np.array([], dtype=dtype)

    ts = cat("ts", np.int64)
    order = np.argsort(ts, kind="stable")
    keep = np.ones(ts.shape[0], dtype=bool)
    keep[1:] = ts[order][1:] != ts[order][:-1]
    pick = order[keep]
    return CandleSeries(
        instrument_token=token,
        interval=interval,
        ts=ts[pick],
        open=cat("open", np.float64)[pick],
        high=cat("high", np.float64)[pick],
        low=cat("low", np.float64)[pick],
        close=cat("close", np.float64)[pick],
        volume=cat("volume", np.int64)[pick],
        oi=cat("oi", np.int64)[pick],
    )


@dataclass(frozen=True)
class _JobKey:
    role: str  # UNDERLYING (ref: index token) or OPTION (ref: Instrument pk)
    ref: int
    run: DayRun


def _key_of(job: FetchJob) -> _JobKey:
    if not isinstance(job.key, _JobKey):
        raise TypeError(f"not a job of this service: {job!r}")
    return job.key


@dataclass
class _Run:
    """Bookkeeping of one enrichment call."""

    summary: EnrichSummary
    interval: str
    now: datetime
    tz: ZoneInfo
    accounts: dict[int, Account]
    on_progress: ProgressCallback | None
    store: CandleStore
    progress: HistoryProgress
    by_pk: dict[int, Instrument]
    index_by_name: dict[str, int]
    finished: int = 0
    underlying_parts: dict[int, list[CandleSeries]] = field(default_factory=dict)
    underlying_series: dict[int, CandleSeries] = field(default_factory=dict)
    underlying_failed_days: dict[int, set[date]] = field(default_factory=dict)

    def count(self, counter: dict[str, int], reason: str, n: int = 1) -> None:
        counter[reason] = counter.get(reason, 0) + n

    def session_dead(self, outcome: SessionDead) -> None:
        self.summary.requests += outcome.requests
        self.summary.dead_account_ids.append(outcome.account_id)
        account = self.accounts.get(outcome.account_id)
        if account is not None:
            account_mark_needs_login(
                account=account, reason=f"historical fetch: {outcome.detail}"[:500]
            )

    def finished_one(self, outcome: Fetched | FetchFailed) -> None:
        self.summary.requests += outcome.requests
        self.finished += 1
        if isinstance(outcome, FetchFailed):
            self.count(self.summary.failed_by_reason, outcome.reason)
        if self.on_progress is not None:
            self.on_progress(
                EnrichProgress(
                    requests_done=self.finished,
                    requests_planned=self.summary.requests_planned,
                    summary=self.summary,
                )
            )

    def validated(self, outcome: Fetched) -> CandleSeries:
        checked = candles_validate(
            instrument_token=outcome.job.instrument_token,
            interval=self.interval,
            rows=outcome.rows,
        )
        for reason, n in checked.bad_by_reason.items():
            self.count(self.summary.bad_rows_by_reason, reason, n)
        if checked.bad_rows:
            HISTORY_CANDLES.labels(stage="bad").inc(checked.bad_rows)
            log.warning(
                "history_bad_rows",
                instrument_token=outcome.job.instrument_token,
                by_reason=checked.bad_by_reason,
                examples=[dataclasses.asdict(e) for e in checked.examples[:3]],
            )
        self.summary.candles_fetched += len(checked.series)
        HISTORY_CANDLES.labels(stage="fetched").inc(len(checked.series))
        return checked.series


def _jobs_for(
    token: int, interval: str, runs: list[DayRun], tz: ZoneInfo, *, role: str, ref: int
) -> list[FetchJob]:
    jobs = []
    for run in runs:
        start, end = run.bounds(tz)
        jobs.append(FetchJob(token, interval, start, end, key=_JobKey(role, ref, run)))
    return jobs


def _plan(
    run: _Run, instruments: Sequence[Instrument], days: list[date], done: dict[int, set[date]]
) -> tuple[list[FetchJob], list[FetchJob]]:
    """The underlyings' and the options' requests for the days not done yet."""
    pending: dict[int, list[date]] = {}
    underlying_days: dict[int, set[date]] = {}
    for instrument in instruments:
        finished = done.get(instrument.instrument_token, set())
        todo = [d for d in days if d not in finished]
        run.summary.days_already_done += len(days) - len(todo)
        if todo:
            pending[instrument.pk] = todo
            index_token = run.index_by_name.get(instrument.name)
            if index_token is not None:
                underlying_days.setdefault(index_token, set()).update(todo)
    interval, tz = run.interval, run.tz
    underlying_jobs = [
        job
        for token, wanted in underlying_days.items()
        for job in _jobs_for(
            token, interval, day_runs(interval, sorted(wanted)), tz, role=UNDERLYING, ref=token
        )
    ]
    option_jobs = [
        job
        for pk, todo in pending.items()
        for job in _jobs_for(
            run.by_pk[pk].instrument_token,
            interval,
            day_runs(interval, todo),
            tz,
            role=OPTION,
            ref=pk,
        )
    ]
    return underlying_jobs, option_jobs


def historical_greeks_enrich(
    *,
    instruments: Sequence[Instrument],
    interval: str,
    start: date,
    end: date,
    now: datetime,
    pool: HistoricalFetchPool,
    accounts: Sequence[Account],
    store: CandleStore,
    progress: HistoryProgress,
    tz: ZoneInfo,
    resume: bool = True,
    dry_run: bool = False,
    on_progress: ProgressCallback | None = None,
) -> EnrichSummary:
    """Fetch, price and store ``instruments``' candles of ``interval`` over IST days start..end."""
    started = time.perf_counter()
    if interval not in INTERVALS:
        raise EnrichInputError(f"unknown interval {interval!r} (one of {', '.join(INTERVALS)})")
    if end < start:
        raise EnrichInputError(f"start {start} is after end {end}")
    summary = EnrichSummary(instruments=len(instruments), dry_run=dry_run)
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    tokens = [i.instrument_token for i in instruments]
    done = progress.done_days(interval=interval, tokens=tokens) if resume else {}
    run = _Run(
        summary=summary,
        interval=interval,
        now=now,
        tz=tz,
        accounts={a.pk: a for a in accounts},
        on_progress=on_progress,
        store=store,
        progress=progress,
        by_pk={i.pk: i for i in instruments},
        index_by_name=underlying_index_tokens_by_name(),
    )
    try:
        underlying_jobs, option_jobs = _plan(run, instruments, days, done)
    except SpanError as exc:
        raise EnrichInputError(str(exc)) from exc
    summary.requests_planned = len(underlying_jobs) + len(option_jobs)
    if dry_run or not summary.requests_planned:
        summary.seconds = time.perf_counter() - started
        return summary

    # 1. Underlyings: their candles are stored and kept for pricing; failed days are remembered.
    for outcome in pool.run(underlying_jobs):
        _take_underlying(run, outcome)
    run.underlying_series = {
        token: _concat(parts, token, interval) for token, parts in run.underlying_parts.items()
    }
    # 2. Options, priced and stored as each request comes back.
    for outcome in pool.run(option_jobs):
        _take_option(run, outcome)
    summary.seconds = time.perf_counter() - started
    log.info(
        "historical_greeks_enriched",
        interval=interval,
        start=start.isoformat(),
        end=end.isoformat(),
        **summary.as_dict(),
    )
    return summary


def _take_underlying(run: _Run, outcome: Outcome) -> None:
    if isinstance(outcome, SessionDead):
        run.session_dead(outcome)
        return
    key = _key_of(outcome.job)
    token, day_run = key.ref, key.run
    if isinstance(outcome, FetchFailed):
        run.underlying_failed_days.setdefault(token, set()).update(day_run.days)
    else:
        series = run.validated(outcome)
        run.underlying_parts.setdefault(token, []).append(series)
        if len(series):
            stored = run.store.store_underlying(series=series, now=run.now)
            if stored is None:
                run.count(run.summary.failed_by_reason, "underlying_not_in_registry")
            else:
                run.summary.underlying_candles_stored += stored
    run.finished_one(outcome)


def _take_option(run: _Run, outcome: Outcome) -> None:
    if isinstance(outcome, SessionDead):
        run.session_dead(outcome)
        return
    if isinstance(outcome, FetchFailed):
        run.finished_one(outcome)
        return
    key = _key_of(outcome.job)
    pk, day_run = key.ref, key.run
    instrument = run.by_pk[pk]
    series = run.validated(outcome)
    index_token = run.index_by_name.get(instrument.name)
    failed = run.underlying_failed_days.get(index_token, set()) if index_token else set()
    if failed & set(day_run.days):
        # Priced now, these candles would be stored without an underlying price for good.
        run.count(run.summary.failed_by_reason, "underlying_unavailable")
        run.finished_one(outcome)
        return
    underlying = run.underlying_series.get(index_token) if index_token is not None else None
    if len(series):
        counts = run.store.store_option(
            instrument=instrument, option=series, underlying=underlying, now=run.now
        )
        run.summary.candles_priced += counts.priced
        run.summary.candles_stored += counts.stored
        for reason, n in counts.unpriced_by_reason.items():
            run.count(run.summary.unpriced_by_reason, reason, n)
        HISTORY_CANDLES.labels(stage="priced").inc(counts.priced)
        HISTORY_CANDLES.labels(stage="stored").inc(counts.stored)
    closed = _closed_days(day_run.days, now=run.now, tz=run.tz)
    run.progress.mark_done(interval=run.interval, token=instrument.instrument_token, days=closed)
    run.summary.days_done += len(closed)
    run.finished_one(outcome)
