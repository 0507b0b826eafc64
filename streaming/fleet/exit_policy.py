"""What the fleet does when a child exits (pure): the exit-code contract of docs/streaming.md.

| exit | meaning | the fleet |
|---|---|---|
| 0 | drained | nothing (it was asked to stop) |
| 1, signals | failure, crash loop, lease not renewable | restart with capped backoff + jitter |
| 2, 4 | unknown account, disabled, credentials unusable | not restarted until the account changes |
| 3 | Kite refused the token (needs_login) | not restarted until a new session; failover |
| 5 | another worker holds the lease | not restarted; claimed again once the lease is free |
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from typing import Literal

from contract.fleet import WorkerStateName
from streaming.config import (
    EXIT_FAILURE,
    EXIT_LEASE_HELD,
    EXIT_NEEDS_LOGIN,
    EXIT_NOT_STREAMABLE,
    EXIT_OK,
    EXIT_USAGE,
)

ExitAction = Literal["restart", "wait_for_change", "wait_for_login", "release", "stopped"]


@dataclass(frozen=True, slots=True)
class ExitDecision:
    action: ExitAction
    state: WorkerStateName
    reason: str


def exit_reason(returncode: int) -> str:
    """A short human reason for a ``Popen.returncode`` (negative: killed by that signal)."""
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return {
        EXIT_OK: "drained",
        EXIT_FAILURE: "failed (see its log)",
        EXIT_USAGE: "unknown account",
        EXIT_NEEDS_LOGIN: "Kite refused the access token (needs login)",
        EXIT_NOT_STREAMABLE: "account disabled or credentials unusable",
        EXIT_LEASE_HELD: "another worker holds the account's lease",
    }.get(returncode, f"exited {returncode}")


def decide_after_exit(returncode: int, *, stop_requested: bool) -> ExitDecision:
    """The fleet's response to a child's exit (``stop_requested``: the fleet asked it to stop)."""
    reason = exit_reason(returncode)
    if stop_requested and returncode in (EXIT_OK, -signal.SIGTERM, -signal.SIGKILL):
        return ExitDecision("stopped", "stopped", reason)
    if returncode in (EXIT_USAGE, EXIT_NOT_STREAMABLE):
        return ExitDecision("wait_for_change", "error", reason)
    if returncode == EXIT_NEEDS_LOGIN:
        return ExitDecision("wait_for_login", "needs_login", reason)
    if returncode == EXIT_LEASE_HELD:
        return ExitDecision("release", "stopped", reason)
    if returncode == EXIT_OK and not stop_requested:
        # Drained without being asked (someone signalled it): it should still stream.
        return ExitDecision("restart", "backoff", "stopped by a signal from outside the fleet")
    return ExitDecision("restart", "backoff", reason)
