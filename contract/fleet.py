"""What a fleet publishes about itself and its children, and what it listens for (pure).

Part of the published contract (``contract``); moved here from ``streaming.fleet.state``.

This module is the interface between the fleet supervisor (``run_fleet``, which writes these
records) and the ops views (health, ``/api/v1/fleet/``, the admin, which read them). Keys, with
``prefix`` = ``TICKER_CHANNEL_PREFIX``:

* ``{prefix}:fleet:worker:{account_id}``: one ``WorkerRecord`` (JSON), written by the fleet that
  holds the account's lease every time the child changes state and at least every
  ``RECORD_REFRESH_SECONDS``; TTL ``RECORD_TTL_SECONDS``. Absent: no fleet supervises the account.
* ``{prefix}:fleet:host:{fleet_id}``: one ``FleetRecord`` (JSON), refreshed likewise; the set of
  these keys is the list of live fleets.
* ``{prefix}:lease:account:{account_id}``: the account's lease (who may stream it). Its value is
  the holder's ``LeaseHolder`` JSON; written and renewed by the lease implementation only.
* ``{prefix}:fleet:control``: a pub/sub channel of ``FleetCommand`` JSON messages (restart or
  drain one account's worker), published by the ops service and obeyed by the fleet holding
  that account's lease.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal

import orjson

RECORD_REFRESH_SECONDS: Final = 5
RECORD_TTL_SECONDS: Final = 30

# starting: spawned, no heartbeat yet; running: heartbeat fresh; backoff: died, waiting to
# restart; hung: heartbeat stale, being terminated; needs_login: exited 3; error: exited 2 or 4
# (not restarted until the account changes); draining: being stopped; stopped: not running.
WorkerStateName = Literal[
    "starting", "running", "backoff", "hung", "needs_login", "error", "draining", "stopped"
]
FleetAction = Literal["restart", "drain"]


def fleet_worker_key(prefix: str, account_id: int) -> str:
    return f"{prefix}:fleet:worker:{account_id}"


def fleet_host_key(prefix: str, fleet_id: str) -> str:
    return f"{prefix}:fleet:host:{fleet_id}"


def fleet_host_pattern(prefix: str) -> str:
    return f"{prefix}:fleet:host:*"


def account_lease_key(prefix: str, account_id: int) -> str:
    return f"{prefix}:lease:account:{account_id}"


def fleet_drained_key(prefix: str, account_id: int) -> str:
    """Set while an operator has drained the account (no fleet claims it until a restart)."""
    return f"{prefix}:fleet:drained:{account_id}"


def last_streaming_key(prefix: str) -> str:
    """A hash: account id -> epoch seconds its worker was last seen streaming."""
    return f"{prefix}:fleet:last_streaming"


def fleet_control_channel(prefix: str) -> str:
    return f"{prefix}:fleet:control"


@dataclass(frozen=True, slots=True)
class LeaseHolder:
    """Who holds an account's lease: a fleet's child or a hand-run ``run_account``."""

    host: str
    pid: int
    fleet_id: str | None  # None for a hand-run worker


@dataclass(frozen=True, slots=True)
class WorkerRecord:
    account_id: int
    state: WorkerStateName
    fleet_id: str
    host: str
    pid: int | None
    restarts: int = 0
    last_exit_code: int | None = None
    last_exit_reason: str = ""
    last_error: str = ""
    started_at: float | None = None  # epoch seconds of the current child's start
    updated_at: float = 0.0  # epoch seconds this record was written


@dataclass(frozen=True, slots=True)
class FleetRecord:
    fleet_id: str
    host: str
    pid: int
    max_accounts: int | None
    accounts: list[int] = field(default_factory=list)
    started_at: float = 0.0
    updated_at: float = 0.0


@dataclass(frozen=True, slots=True)
class FleetCommand:
    action: FleetAction
    account_id: int
    reason: str = ""


def encode(record: WorkerRecord | FleetRecord | FleetCommand | LeaseHolder) -> bytes:
    return orjson.dumps(asdict(record))


def _object(raw: bytes | str) -> dict[str, Any]:
    payload = orjson.loads(raw)
    if not isinstance(payload, dict):
        raise TypeError("not a JSON object")
    return payload


def decode_worker(raw: bytes | str) -> WorkerRecord:
    """A ``WorkerRecord`` from its JSON; ``ValueError`` or ``TypeError`` when it is not one."""
    return WorkerRecord(**_object(raw))


def decode_fleet(raw: bytes | str) -> FleetRecord:
    return FleetRecord(**_object(raw))


def decode_command(raw: bytes | str) -> FleetCommand:
    command = FleetCommand(**_object(raw))
    if command.action not in ("restart", "drain") or not isinstance(command.account_id, int):
        raise ValueError(f"not a fleet command: {command!r}")
    return command


def decode_lease_holder(raw: bytes | str) -> LeaseHolder:
    return LeaseHolder(**_object(raw))
