"""Fetch historical candles through every healthy account at once, within Kite's budget.

One thread per account, each with its own ``KiteConnect`` client, takes requests from a shared
queue; before every HTTP attempt it takes a slot from its api_key's window in Redis
(`HistoricalRateLimiter`), so the 3 requests/s per api_key hold across processes and hosts and
each api_key spends its own budget. A 429 or a network error is retried with the project's one
policy (``infra.retry.transient_retrying``). A dead session (403 ``TokenException``) puts the
request back for the other accounts, reports the account and stops that thread: its share moves
to the others. Threads only talk HTTP and Redis; the caller's thread does every database write.
"""

from __future__ import annotations

import functools
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import structlog
import tenacity
from kiteconnect import KiteConnect
from kiteconnect import exceptions as kite_exceptions

from greeks.history.metrics import HISTORY_REQUESTS, HISTORY_THREAD_CRASHES
from greeks.history.rate_limit import HistoricalRateLimiter
from infra.retry import TRANSIENT_ERRORS, transient_retrying

log = structlog.get_logger(__name__)

POLL_SECONDS: Final = 0.05
# kiteconnect's own parser of the candles (``_format_historical``) raises these on a row it cannot
# read; the whole response is then lost, counted as ``unparsable_response``.
PARSER_ERRORS: Final = (ValueError, IndexError, TypeError, OverflowError, KeyError)


@dataclass(frozen=True)
class FetchAccount:
    """An account that may fetch: its id (for the caller), its client and its window's key."""

    account_id: int
    name: str
    client: KiteConnect
    limiter_key: str


@dataclass(frozen=True)
class FetchJob:
    """One request: an instrument's candles of one interval over ``[start, end]`` (inclusive)."""

    instrument_token: int
    interval: str
    start: datetime
    end: datetime
    key: object = None  # the caller's handle, returned with the outcome


@dataclass(frozen=True)
class Fetched:
    job: FetchJob
    rows: list[object]
    account_id: int
    requests: int


@dataclass(frozen=True)
class FetchFailed:
    job: FetchJob
    reason: str
    detail: str
    requests: int


@dataclass(frozen=True)
class SessionDead:
    """An account's session died; its request went back to the queue."""

    account_id: int
    detail: str
    requests: int


Outcome = Fetched | FetchFailed | SessionDead
RetryingFactory = Callable[..., tenacity.Retrying]  # called with sleep=


class _Stopped(Exception):
    """The run ended (its caller left) while this thread waited to retry."""


class UnparsableResponse(Exception):
    """kiteconnect could not turn the response into candle dicts."""


@dataclass(frozen=True)
class _Crashed:
    account_id: int
    error: BaseException


def _sleep_unless_stopped(stop: threading.Event, seconds: float) -> None:
    """A retry's backoff that ends at once when the run is over (a time limit, an error)."""
    if stop.wait(seconds):
        raise _Stopped


def _put_unless_stopped(
    out: queue.Queue[Outcome | _Crashed], item: Outcome | _Crashed, stop: threading.Event
) -> None:
    """Hand ``item`` to the caller, waiting while its queue is full, unless the run is over."""
    while not stop.is_set():
        try:
            out.put(item, timeout=POLL_SECONDS)
        except queue.Full:
            continue
        return


class HistoricalFetchPool:
    """Runs jobs over the accounts; ``run`` yields one outcome per job plus dead sessions."""

    def __init__(
        self,
        *,
        accounts: Sequence[FetchAccount],
        limiter: HistoricalRateLimiter,
        retrying: RetryingFactory = transient_retrying,
    ) -> None:
        self.accounts = tuple(accounts)
        self.limiter = limiter
        self.retrying = retrying
        self.dead: set[int] = set()  # accounts whose session died: left out of later runs

    def run(self, jobs: Sequence[FetchJob]) -> Iterator[Outcome]:
        """Yield outcomes as they arrive (any order); every job ends as Fetched or FetchFailed."""
        work: queue.Queue[FetchJob] = queue.Queue()
        for job in jobs:
            work.put(job)
        serving = [a for a in self.accounts if a.account_id not in self.dead]
        # Bounded: threads wait while the caller prices and stores, so fetched candles never
        # pile up in memory faster than they are written.
        out: queue.Queue[Outcome | _Crashed] = queue.Queue(maxsize=2 * len(serving) or 1)
        stop = threading.Event()
        alive = {a.account_id for a in serving}
        threads = [
            threading.Thread(
                target=self._serve,
                args=(account, work, out, stop),
                name=f"history-fetch-{account.account_id}",
                daemon=True,
            )
            for account in serving
        ]
        for thread in threads:
            thread.start()
        outstanding = len(jobs)
        try:
            while outstanding:
                if not alive:
                    yield from self._fail_remaining(work, "no_healthy_account")
                    return
                try:
                    item = out.get(timeout=POLL_SECONDS)
                except queue.Empty:
                    continue
                if isinstance(item, _Crashed):
                    raise item.error
                if isinstance(item, SessionDead):
                    alive.discard(item.account_id)
                    self.dead.add(item.account_id)
                else:
                    outstanding -= 1
                yield item
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=10)

    def _fail_remaining(self, work: queue.Queue[FetchJob], reason: str) -> Iterator[FetchFailed]:
        while True:
            try:
                job = work.get_nowait()
            except queue.Empty:
                return
            yield FetchFailed(
                job=job, reason=reason, detail="every account's session is dead", requests=0
            )

    def _serve(
        self,
        account: FetchAccount,
        work: queue.Queue[FetchJob],
        out: queue.Queue[Outcome | _Crashed],
        stop: threading.Event,
    ) -> None:
        # A supervised boundary: anything unexpected is logged, counted and re-raised in the
        # caller's thread (``run``), never lost with the thread.
        try:
            while not stop.is_set():
                try:
                    job = work.get(timeout=POLL_SECONDS)
                except queue.Empty:
                    continue
                try:
                    outcome = self._fetch(account, job, stop)
                except _Stopped:
                    return
                if isinstance(outcome, SessionDead):
                    work.put(job)
                    _put_unless_stopped(out, outcome, stop)
                    return
                _put_unless_stopped(out, outcome, stop)
        except Exception as exc:
            HISTORY_THREAD_CRASHES.inc()
            log.exception("history_fetch_thread_crashed", account_id=account.account_id)
            _put_unless_stopped(out, _Crashed(account_id=account.account_id, error=exc), stop)

    def _fetch(self, account: FetchAccount, job: FetchJob, stop: threading.Event) -> Outcome:
        attempts = 0

        def attempt() -> list[object]:
            nonlocal attempts
            attempts += 1
            try:
                with self.limiter.slot(account.limiter_key):
                    rows = account.client.historical_data(
                        job.instrument_token, job.start, job.end, job.interval, oi=True
                    )
            except kite_exceptions.NetworkException as exc:
                HISTORY_REQUESTS.labels(outcome=f"http_{exc.code}").inc()
                log.info(
                    "history_request_retryable",
                    account_id=account.account_id,
                    instrument_token=job.instrument_token,
                    code=exc.code,
                    error=str(exc)[:200],
                )
                raise
            except PARSER_ERRORS as exc:
                raise UnparsableResponse(f"{type(exc).__name__}: {exc}") from exc
            HISTORY_REQUESTS.labels(outcome="ok").inc()
            return list(rows)

        context = {
            "account_id": account.account_id,
            "instrument_token": job.instrument_token,
            "interval": job.interval,
            "start": job.start.isoformat(),
            "end": job.end.isoformat(),
        }
        try:
            rows = self.retrying(sleep=functools.partial(_sleep_unless_stopped, stop))(attempt)
        except kite_exceptions.TokenException as exc:
            HISTORY_REQUESTS.labels(outcome="token_exception").inc()
            log.warning("history_session_dead", **context, error=str(exc)[:200])
            return SessionDead(
                account_id=account.account_id, detail=str(exc)[:200], requests=attempts
            )
        except TRANSIENT_ERRORS as exc:
            reason = (
                f"http_{exc.code}"
                if isinstance(exc, kite_exceptions.KiteException)
                else type(exc).__name__
            )
            log.warning("history_request_gave_up", **context, reason=reason, error=str(exc)[:200])
            return FetchFailed(job=job, reason=reason, detail=str(exc)[:200], requests=attempts)
        except kite_exceptions.KiteException as exc:
            HISTORY_REQUESTS.labels(outcome=type(exc).__name__).inc()
            log.warning(
                "history_request_refused",
                **context,
                error_type=type(exc).__name__,
                error=str(exc)[:200],
            )
            return FetchFailed(
                job=job, reason=type(exc).__name__, detail=str(exc)[:200], requests=attempts
            )
        except UnparsableResponse as exc:
            HISTORY_REQUESTS.labels(outcome="unparsable").inc()
            log.warning("history_response_unparsable", **context, error=str(exc)[:200])
            return FetchFailed(
                job=job, reason="unparsable_response", detail=str(exc)[:200], requests=attempts
            )
        return Fetched(job=job, rows=rows, account_id=account.account_id, requests=attempts)
