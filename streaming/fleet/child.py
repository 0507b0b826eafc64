"""One child process of the fleet: ``manage.py run_account ID --fleet-id F``.

The child gets a parent-death signal (Linux ``prctl(PR_SET_PDEATHSIG, SIGTERM)``), so it
drains and releases its lease even when the fleet is SIGKILLed; it never outlives the fleet.
Termination is SIGTERM (plus SIGCONT, so a stopped child can act on it), then SIGKILL after a
grace period.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import structlog

log = structlog.get_logger(__name__)

PR_SET_PDEATHSIG = 1
# docs/streaming.md: glibc's heap trimming slows orjson; the launcher turns it off.
LAUNCHER_ENV = {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=268435456"}


def _die_with_parent(parent_pid: int) -> None:
    """Runs in the child between fork and exec: ask for SIGTERM when the parent dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


@dataclass
class ChildProcess:
    account_id: int
    process: subprocess.Popen[bytes]
    started_at: float  # monotonic
    started_epoch: float
    term_sent_at: float | None = None
    stop_requested: bool = False
    pid: int = field(init=False)

    def __post_init__(self) -> None:
        self.pid = self.process.pid

    def poll(self) -> int | None:
        return self.process.poll()

    def terminate(self, now: float) -> None:
        """SIGTERM (and SIGCONT for a stopped child); ``escalate`` kills it after the grace."""
        if self.term_sent_at is not None or self.process.poll() is not None:
            return
        self.term_sent_at = now
        for signum in (signal.SIGTERM, signal.SIGCONT):
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                return

    def escalate(self, now: float, grace_seconds: float) -> bool:
        """SIGKILL when SIGTERM was sent more than ``grace_seconds`` ago; True when it did."""
        if self.term_sent_at is None or now - self.term_sent_at < grace_seconds:
            return False
        if self.process.poll() is not None:
            return False
        log.warning("fleet_child_killed", account_id=self.account_id, pid=self.pid)
        self.process.kill()
        return True


def spawn_child(
    *,
    account_id: int,
    argv: Sequence[str],
    cwd: str,
    env: Mapping[str, str],
    now: float,
    epoch: float,
) -> ChildProcess:
    """Start ``argv`` (the run_account command line) as a child that dies with the fleet."""
    parent = os.getpid()
    process = subprocess.Popen(  # noqa: S603 (our own argv)
        list(argv),
        cwd=cwd,
        env={**env, **LAUNCHER_ENV},
        preexec_fn=lambda: _die_with_parent(parent),  # noqa: PLW1509 (only prctl, async-signal-safe)
        stdin=subprocess.DEVNULL,
    )
    log.info("fleet_child_started", account_id=account_id, pid=process.pid)
    return ChildProcess(account_id, process, started_at=now, started_epoch=epoch)
