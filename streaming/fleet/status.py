"""One account's fleet status, joined from its records (pure: no ORM, Redis or clock).

The selector (``streaming.fleet.selectors``) reads the records; this module decodes them and
says, per account, what its worker is doing and whether that is healthy. ``now`` is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import structlog

from contract.fleet import LeaseHolder, WorkerRecord, decode_lease_holder, decode_worker

log = structlog.get_logger(__name__)

# A worker whose last tick is older than this while it has instruments is called stale.
STALE_TICK_SECONDS = 60.0
# Worker states that are a problem whatever the account's status.
TROUBLED_STATES = frozenset({"backoff", "hung", "error", "needs_login"})


@dataclass(frozen=True, slots=True)
class AccountRow:
    """What the database says about one account (the selector fills it in one query)."""

    account_id: int
    name: str
    status: str
    subscribed: int
    streamable: bool  # accounts_streamable admits it: the fleet should be running its worker


@dataclass(frozen=True, slots=True)
class FleetAccountStatus:
    account_id: int
    name: str
    account_status: str
    subscribed_instruments: int
    streamable: bool
    # a WorkerStateName, or "unsupervised" (heartbeat, no fleet record), "drained" (an operator
    # drained it: no fleet claims it until a restart) or "stopped" (nothing runs it)
    state: str
    host: str | None
    pid: int | None
    fleet_id: str | None
    lease_holder: LeaseHolder | None
    restarts: int
    last_exit_code: int | None
    last_exit_reason: str
    last_error: str
    heartbeat_age_seconds: float | None
    connections: int
    ticks_per_second: float
    last_tick_age_seconds: float | None
    problem: str  # "" when healthy; else why this account is degraded

    @property
    def streaming(self) -> bool:
        return self.heartbeat_age_seconds is not None and self.ticks_per_second > 0


def _decode_or_none(raw: bytes | str | None, decoder: Any) -> Any:
    if raw is None:
        return None
    try:
        return decoder(raw)
    except (ValueError, TypeError) as exc:
        log.warning("fleet_record_unreadable", error=f"{type(exc).__name__}: {exc}")
        return None


def _drain_reason(raw: bytes | str | None) -> str | None:
    """None when not drained; else the operator's reason ("" when unreadable or absent)."""
    if raw is None:
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return ""
    return str(value.get("reason", "")) if isinstance(value, dict) else ""


def _heartbeat(raw: bytes | str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        log.warning("heartbeat_unreadable", error=str(exc))
        return None
    return value if isinstance(value, dict) else None


def _streaming_problem(
    account: AccountRow, worker: WorkerRecord | None, beat: dict[str, Any] | None,
    tick_age: float | None,
) -> str:  # fmt: skip
    """Why a streamable account's worker is not streaming, or ""."""
    if worker is None and beat is None:
        return "streamable but no worker runs (no fleet record, no heartbeat)"
    if worker is not None and worker.state in ("stopped", "draining"):
        return f"streamable but its worker is {worker.state}"
    if beat is None:
        return "no fresh worker heartbeat"
    if account.subscribed == 0 or (worker is not None and worker.state == "starting"):
        return ""
    if tick_age is None:
        return "worker has received no tick yet"
    return f"last tick {tick_age:.0f} s ago" if tick_age > STALE_TICK_SECONDS else ""


def _problem(
    account: AccountRow, worker: WorkerRecord | None, beat: dict[str, Any] | None,
    tick_age: float | None, drained: str | None,
) -> str:  # fmt: skip
    """Why this account is degraded, or "" (healthy, or not meant to stream)."""
    if worker is not None and worker.state in TROUBLED_STATES:
        detail = worker.last_exit_reason or worker.last_error
        return f"worker {worker.state}" + (f": {detail}" if detail else "")
    if not account.streamable:
        return ""
    if drained is not None and worker is None:
        return "drained by an operator" + (f": {drained}" if drained else "")
    return _streaming_problem(account, worker, beat, tick_age)


def fleet_account_status(
    account: AccountRow,
    *,
    worker_raw: bytes | str | None,
    heartbeat_raw: bytes | str | None,
    lease_raw: bytes | str | None,
    now: float,
    drained_raw: bytes | str | None = None,
) -> FleetAccountStatus:
    """Join one account's row with its worker record, heartbeat and lease (any may be absent)."""
    worker: WorkerRecord | None = _decode_or_none(worker_raw, decode_worker)
    lease: LeaseHolder | None = _decode_or_none(lease_raw, decode_lease_holder)
    beat = _heartbeat(heartbeat_raw)
    drained = _drain_reason(drained_raw)
    beat_ts = float(beat["ts"]) if beat and isinstance(beat.get("ts"), int | float) else None
    beat_age = round(max(0.0, now - beat_ts), 3) if beat_ts is not None else None
    tick_age: float | None = None
    if beat and isinstance(beat.get("last_tick_age_seconds"), int | float):
        tick_age = round(float(beat["last_tick_age_seconds"]) + (beat_age or 0.0), 3)
    state: str
    if worker is not None:
        state = worker.state
    else:
        state = (
            "unsupervised" if beat is not None else "drained" if drained is not None else "stopped"
        )
    host = worker.host if worker else (str(beat["host"]) if beat and "host" in beat else None)
    pid = worker.pid if worker else (int(beat["pid"]) if beat and "pid" in beat else None)
    return FleetAccountStatus(
        account_id=account.account_id,
        name=account.name,
        account_status=account.status,
        subscribed_instruments=account.subscribed,
        streamable=account.streamable,
        state=state,
        host=host,
        pid=pid,
        fleet_id=worker.fleet_id if worker else None,
        lease_holder=lease,
        restarts=worker.restarts if worker else 0,
        last_exit_code=worker.last_exit_code if worker else None,
        last_exit_reason=worker.last_exit_reason if worker else "",
        last_error=worker.last_error if worker else "",
        heartbeat_age_seconds=beat_age,
        connections=int(beat.get("connections", 0)) if beat else 0,
        ticks_per_second=float(beat.get("ticks_per_second", 0.0)) if beat else 0.0,
        last_tick_age_seconds=tick_age,
        problem=_problem(account, worker, beat, tick_age, drained),
    )
