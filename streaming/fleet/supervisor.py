"""The fleet supervisor: one ``run_account`` child per account this fleet holds (docs/fleet.md).

A synchronous loop (a tick every ``tick_seconds``) that, in order:

1. reads control messages (``{prefix}:control`` reloads, ``{prefix}:fleet:control`` commands);
2. reaps exited children and decides by exit code (``exit_policy``): restart with backoff,
   wait for the account to change or log in, or let another holder have it;
3. every ``reconcile_seconds`` (and at once after a message naming accounts) reads the desired
   set from the database: drains the accounts no longer wanted, unblocks those that changed,
   checks which accounts have stopped streaming;
4. every ``claim_seconds`` claims free accounts (``claims``), reading the leases in one MGET;
5. starts children whose backoff is over; terminates those whose heartbeat went stale (hung);
6. runs the failover (mark needs_login, run the assignment single-flight) without Celery;
7. writes its ``WorkerRecord``s and ``FleetRecord`` (``state``) for the ops views.

The database and Redis are reached only through ``FleetDependencies`` (the command wires the
Django-side functions), so an outage of either is an error of one step, logged and counted,
never the end of the loop. The loop itself is the supervised boundary.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import orjson
import redis
import structlog

from contract.fleet import (
    RECORD_REFRESH_SECONDS,
    RECORD_TTL_SECONDS,
    FleetRecord,
    LeaseHolder,
    WorkerRecord,
    WorkerStateName,
    decode_command,
    decode_fleet,
    encode,
    fleet_control_channel,
    fleet_drained_key,
    fleet_host_key,
    fleet_host_pattern,
    fleet_worker_key,
)
from contract.names import control_channel
from streaming.backoff import Backoff
from streaming.fleet import fleet_metrics as metrics
from streaming.fleet.child import ChildProcess, spawn_child
from streaming.fleet.claims import PeerLoad, choose_claims
from streaming.fleet.exit_policy import decide_after_exit
from streaming.fleet.lease import lease_break_dead_holder, lease_holders

log = structlog.get_logger(__name__)

REDIS_ERRORS = (redis.exceptions.RedisError, OSError)
FAILOVER_RETRY_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class DesiredAccounts:
    """What the database says: the accounts to stream and a version of every account."""

    desired: list[int]
    versions: dict[int, str]  # every existing account; changes whenever the account does


@dataclass(frozen=True)
class FleetDependencies:
    """The fleet's collaborators (the command wires them; tests may wire their own)."""

    redis: redis.Redis
    desired_accounts: Callable[[], DesiredAccounts]
    mark_needs_login: Callable[[int], bool]  # False: not done (database out), try again
    run_assignment: Callable[[str], bool]  # False: another run holds the lock, or an outage
    unavailable_accounts: Callable[[], frozenset[int]]
    child_argv: Callable[[int], list[str]]
    child_env: dict[str, str]
    cwd: str
    heartbeat_key: Callable[[int], str]
    on_child_exit: Callable[[int], None] = lambda _pid: None  # e.g. prometheus mark_process_dead


@dataclass(frozen=True, slots=True)
class FleetConfig:
    fleet_id: str
    host: str
    pid: int
    prefix: str
    max_accounts: int | None = None
    tick_seconds: float = 0.25
    reconcile_seconds: float = 30.0
    claim_seconds: float = 5.0
    claim_patience_seconds: float = 10.0
    heartbeat_ttl_seconds: float = 15.0
    startup_grace_seconds: float = 30.0
    kill_grace_seconds: float = 10.0  # SIGTERM -> SIGKILL, for hung children and at shutdown
    restart_initial_seconds: float = 1.0
    restart_max_seconds: float = 60.0
    stable_run_seconds: float = 60.0  # a run this long resets the restart backoff


@dataclass
class Slot:
    """An account this fleet holds: its child (if running) and its restart history."""

    account_id: int
    backoff: Backoff
    child: ChildProcess | None = None
    state: WorkerStateName = "starting"
    restarts: int = 0
    next_start_at: float | None = 0.0  # monotonic; None: not to be started
    last_exit_code: int | None = None
    last_exit_reason: str = ""
    last_error: str = ""
    draining: bool = False
    restart_now: bool = False  # an operator's restart: start again at once after the exit


@dataclass
class Blocked:
    """An account not restarted here until it changes (exit 2/3/4) or is restarted by an op."""

    record: WorkerRecord
    version: str | None  # None: to be read at the next reconcile


@dataclass
class _Timers:
    reconcile_at: float = 0.0
    claim_at: float = 0.0
    check_at: float = 0.0
    records_at: float = 0.0
    subscribe_at: float = 0.0


@dataclass
class _Pending:
    needs_login: set[int] = field(default_factory=set)
    assignment_reason: str | None = None
    assignment_at: float = 0.0


class FleetSupervisor:
    def __init__(
        self,
        config: FleetConfig,
        deps: FleetDependencies,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.deps = deps
        self._clock = clock
        self._wall = wall
        self.slots: dict[int, Slot] = {}
        self.blocked: dict[int, Blocked] = {}
        self._desired: DesiredAccounts | None = None
        self._free_since: dict[int, float] = {}
        self._unavailable: frozenset[int] = frozenset()
        self._timers = _Timers()
        self._pending = _Pending()
        self._pubsub: Any = None
        self._subscribe_backoff = Backoff(initial=0.5, maximum=10.0)
        self._stopping = False
        self._started_epoch = wall()
        self._log = log.bind(fleet_id=config.fleet_id)

    # --- the loop ----------------------------------------------------------------------------
    def run(self) -> int:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        self._log.info(
            "fleet_starting", host=self.config.host, pid=self.config.pid,
            max_accounts=self.config.max_accounts,
        )  # fmt: skip
        self._publish_records(self._clock())  # peers see us before we claim
        try:
            while not self._stopping:
                self.step()
                time.sleep(self.config.tick_seconds)
        finally:
            self.shutdown()
        return 0

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._log.info("fleet_signal", signal=signal.Signals(signum).name)
        self._stopping = True

    def request_stop(self) -> None:
        self._stopping = True

    def step(self) -> None:
        """One pass of the loop (every part guarded: one failing step never ends the fleet)."""
        now = self._clock()
        timers = self._timers
        self._guarded("messages", self._read_messages, now)
        self._guarded("reap", self._reap, now)
        if now >= timers.reconcile_at:
            timers.reconcile_at = now + self.config.reconcile_seconds
            self._guarded("reconcile", self._reconcile, now)
        if now >= timers.claim_at and self._desired is not None:
            timers.claim_at = now + self.config.claim_seconds
            self._guarded("claim", self._claim, now)
        self._guarded("start", self._start_due, now)
        if now >= timers.check_at:
            timers.check_at = now + min(1.0, self.config.heartbeat_ttl_seconds / 3)
            self._guarded("heartbeats", self._check_heartbeats, now)
        self._guarded("escalate", self._escalate, now)
        self._guarded("failover", self._failover, now)
        if now >= timers.records_at:
            self._guarded("records", self._publish_records, now)

    def _guarded(self, step: str, action: Callable[[float], None], now: float) -> None:
        try:
            action(now)
        except Exception as exc:  # noqa: BLE001 (logged with its traceback and counted)
            # The supervised boundary: log with context, count, and go on with the next step.
            metrics.STEP_FAILURES.labels(step=step).inc()
            self._log.exception("fleet_step_failed", step=step, error_type=type(exc).__name__)

    # --- messages ----------------------------------------------------------------------------
    def _read_messages(self, now: float) -> None:
        if self._pubsub is None:
            if now < self._timers.subscribe_at:
                return
            try:
                pubsub = self.deps.redis.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(
                    control_channel(self.config.prefix), fleet_control_channel(self.config.prefix)
                )
            except REDIS_ERRORS as exc:
                self._timers.subscribe_at = now + self._subscribe_backoff.next_delay()
                self._log.warning("fleet_subscribe_failed", error_type=type(exc).__name__)
                return
            self._pubsub = pubsub
            self._subscribe_backoff.reset()
            self._request_reconcile(now)  # messages may have been missed meanwhile
        try:
            for _ in range(100):
                message = self._pubsub.get_message(timeout=0)
                if message is None:
                    break
                self._on_message(message, now)
        except REDIS_ERRORS as exc:
            self._log.warning("fleet_messages_lost", error_type=type(exc).__name__)
            self._close_pubsub()
            self._timers.subscribe_at = now + self._subscribe_backoff.next_delay()

    def _close_pubsub(self) -> None:
        if self._pubsub is not None:
            try:
                self._pubsub.close()
            except REDIS_ERRORS:
                self._log.debug("fleet_pubsub_close_failed")
            self._pubsub = None

    def _on_message(self, message: dict[str, Any], now: float) -> None:
        channel = message.get("channel")
        data = message.get("data")
        if not isinstance(data, bytes | str):
            return
        if channel in (fleet_control_channel(self.config.prefix).encode(),):
            try:
                command = decode_command(data)
            except (ValueError, TypeError):
                metrics.BAD_MESSAGES.inc()
                self._log.warning("fleet_command_invalid", length=len(data))
                return
            self._obey(command.action, command.account_id, command.reason, now)
            return
        # A reload naming accounts: an account may have been enabled, logged in or disabled.
        self._request_reconcile(now)

    def _request_reconcile(self, now: float) -> None:
        # Coalesce bursts of messages into one database read.
        self._timers.reconcile_at = min(self._timers.reconcile_at, now + 0.5)
        self._timers.claim_at = min(self._timers.claim_at, now + 1.0)

    def _obey(self, action: str, account_id: int, reason: str, now: float) -> None:
        slot = self.slots.get(account_id)
        drained_key = fleet_drained_key(self.config.prefix, account_id)
        if action == "restart":
            self.deps.redis.delete(drained_key)
            blocked = self.blocked.pop(account_id, None)
            if slot is not None and slot.child is not None:
                slot.restart_now = True
                slot.child.terminate(now)
                slot.state = "draining"
            elif slot is not None or blocked is not None:
                self._take(account_id, now)
            self._log.info("fleet_worker_restart", account_id=account_id, reason=reason)
        elif action == "drain" and (slot is not None or account_id in self.blocked):
            self.deps.redis.set(drained_key, orjson.dumps({"reason": reason, "ts": self._wall()}))
            self.blocked.pop(account_id, None)
            if slot is not None:
                self._drain(slot, now)
            self._log.info("fleet_worker_drain", account_id=account_id, reason=reason)
        self._timers.records_at = now

    # --- children ----------------------------------------------------------------------------
    def _take(self, account_id: int, now: float) -> Slot:
        slot = self.slots.get(account_id)
        if slot is None:
            slot = Slot(
                account_id=account_id,
                backoff=Backoff(
                    initial=self.config.restart_initial_seconds,
                    maximum=self.config.restart_max_seconds,
                ),
            )
            self.slots[account_id] = slot
        slot.next_start_at = now
        slot.draining = False
        return slot

    def _start_due(self, now: float) -> None:
        if self._stopping:
            return
        for slot in list(self.slots.values()):
            due = slot.next_start_at is not None and now >= slot.next_start_at
            if slot.child is None and not slot.draining and due:
                self._start(slot, now)

    def _start(self, slot: Slot, now: float) -> None:
        slot.child = spawn_child(
            account_id=slot.account_id, argv=self.deps.child_argv(slot.account_id),
            cwd=self.deps.cwd, env=self.deps.child_env, now=now, epoch=self._wall(),
        )  # fmt: skip
        slot.next_start_at = None
        slot.state = "starting"
        self._timers.records_at = now

    def _drain(self, slot: Slot, now: float) -> None:
        slot.draining = True
        slot.next_start_at = None
        if slot.child is None:
            del self.slots[slot.account_id]
            return
        slot.state = "draining"
        slot.child.stop_requested = True
        slot.child.terminate(now)

    def _reap(self, now: float) -> None:
        for slot in list(self.slots.values()):
            child = slot.child
            if child is None:
                continue
            code = child.poll()
            if code is None:
                continue
            slot.child = None
            self._after_exit(slot, child, code, now)
            self._timers.records_at = now

    def _after_exit(self, slot: Slot, child: ChildProcess, code: int, now: float) -> None:
        config = self.config
        self.deps.on_child_exit(child.pid)
        self._release_dead_lease(slot.account_id, child)
        asked = child.stop_requested or slot.restart_now or slot.draining
        decision = decide_after_exit(code, stop_requested=asked)
        slot.last_exit_code, slot.last_exit_reason = code, decision.reason
        ran = now - child.started_at
        self._log.info(
            "fleet_child_exited", account_id=slot.account_id, pid=child.pid, exit_code=code,
            reason=decision.reason, action=decision.action, ran_seconds=round(ran, 1),
        )  # fmt: skip
        metrics.CHILD_EXITS.labels(action=decision.action).inc()
        if slot.restart_now:
            slot.restart_now = False
            slot.restarts += 1
            slot.next_start_at = now
            return
        if slot.draining or decision.action == "stopped":
            del self.slots[slot.account_id]
            return
        if decision.action == "restart":
            if ran >= config.stable_run_seconds:
                slot.backoff.reset()
            delay = slot.backoff.next_delay()
            slot.restarts += 1
            slot.state = "backoff"
            slot.last_error = decision.reason
            slot.next_start_at = now + delay
            metrics.RESTARTS.inc()
            self._log.warning(
                "fleet_child_restart_scheduled", account_id=slot.account_id,
                delay_seconds=round(delay, 2), restarts=slot.restarts,
            )  # fmt: skip
            return
        del self.slots[slot.account_id]
        if decision.action == "release":
            self._free_since.pop(slot.account_id, None)
            return
        slot.state = decision.state
        slot.last_error = decision.reason
        self.blocked[slot.account_id] = Blocked(record=self._record(slot), version=None)
        self._request_reconcile(now)
        if decision.action == "wait_for_login":
            self._pending.needs_login.add(slot.account_id)
            self._want_assignment("fleet_needs_login", now)

    def _release_dead_lease(self, account_id: int, child: ChildProcess) -> None:
        """The child is dead: free its lease now if it could not (SIGKILL, a crash)."""
        holder = LeaseHolder(host=self.config.host, pid=child.pid, fleet_id=self.config.fleet_id)
        try:
            if lease_break_dead_holder(self.deps.redis, self.config.prefix, account_id, holder):
                self._log.info("fleet_dead_lease_released", account_id=account_id, pid=child.pid)
        except REDIS_ERRORS as exc:
            self._log.warning(
                "fleet_dead_lease_release_failed", account_id=account_id,
                error_type=type(exc).__name__,
            )  # fmt: skip

    def _check_heartbeats(self, now: float) -> None:
        running = [s for s in self.slots.values() if s.child is not None and not s.draining]
        if not running:
            return
        raws = self.deps.redis.mget([self.deps.heartbeat_key(s.account_id) for s in running])
        wall = self._wall()
        for slot, raw in zip(running, raws, strict=True):
            child = slot.child
            if child is None or child.term_sent_at is not None:
                continue
            document = _json_object(raw)
            fresh = (
                document is not None
                and document.get("pid") == child.pid
                and wall - float(document.get("ts", 0)) <= self.config.heartbeat_ttl_seconds
            )
            if fresh:
                if slot.state != "running":
                    slot.state = "running"
                    self._timers.records_at = now
                continue
            if now - child.started_at < self.config.startup_grace_seconds:
                continue
            slot.state = "hung"
            slot.last_error = "heartbeat older than its TTL: terminated and restarted"
            metrics.HUNG.inc()
            self._log.warning("fleet_child_hung", account_id=slot.account_id, pid=child.pid)
            child.terminate(now)
            self._timers.records_at = now

    def _escalate(self, now: float) -> None:
        for slot in self.slots.values():
            if slot.child is not None:
                slot.child.escalate(now, self.config.kill_grace_seconds)

    # --- reconcile and claims ------------------------------------------------------------------
    def _reconcile(self, now: float) -> None:
        desired = self.deps.desired_accounts()
        self._desired = desired
        wanted = set(desired.desired)
        for account_id, blocked in list(self.blocked.items()):
            version = desired.versions.get(account_id)
            if version is None:
                del self.blocked[account_id]  # deleted
            elif blocked.version is None:
                blocked.version = version
            elif blocked.version != version:
                del self.blocked[account_id]
                self._log.info("fleet_account_changed_unblocked", account_id=account_id)
        for slot in list(self.slots.values()):
            if slot.account_id not in wanted and not slot.draining:
                self._log.info("fleet_account_not_wanted", account_id=slot.account_id)
                self._drain(slot, now)
        unavailable = self.deps.unavailable_accounts()
        if unavailable != self._unavailable:
            self._unavailable = unavailable
            self._want_assignment("streaming_availability_changed", now)

    def _claim(self, now: float) -> None:
        if self._stopping or self._desired is None:
            return
        prefix, client = self.config.prefix, self.deps.redis
        candidates = [
            a for a in self._desired.desired if a not in self.slots and a not in self.blocked
        ]
        if not candidates:
            return
        holders = lease_holders(client, prefix, candidates)
        drained = client.mget([fleet_drained_key(prefix, a) for a in candidates])
        excluded = {a for a, raw in zip(candidates, drained, strict=True) if raw is not None}
        for account_id in candidates:
            if account_id in holders:
                self._free_since.pop(account_id, None)
            else:
                self._free_since.setdefault(account_id, now)
        claims = choose_claims(
            fleet_id=self.config.fleet_id, desired=candidates, mine=list(self.slots),
            excluded=excluded, held_elsewhere=set(holders), free_since=self._free_since,
            peers=self._peers(), max_accounts=self.config.max_accounts, now=now,
            patience_seconds=self.config.claim_patience_seconds,
        )  # fmt: skip
        for account_id in claims:
            self._log.info("fleet_account_claimed", account_id=account_id)
            self._take(account_id, now)

    def _peers(self) -> list[PeerLoad]:
        client = self.deps.redis
        keys = [
            k
            for k in client.scan_iter(match=fleet_host_pattern(self.config.prefix), count=100)
            if k != fleet_host_key(self.config.prefix, self.config.fleet_id).encode()
        ]
        peers: list[PeerLoad] = []
        for raw in client.mget(keys) if keys else []:
            if raw is None:
                continue
            try:
                record = decode_fleet(raw)
            except (ValueError, TypeError):
                metrics.BAD_MESSAGES.inc()
                continue
            peers.append(PeerLoad(record.fleet_id, len(record.accounts), record.max_accounts))
        return peers

    # --- failover ------------------------------------------------------------------------------
    def _want_assignment(self, reason: str, now: float) -> None:
        self._pending.assignment_reason = self._pending.assignment_reason or reason
        self._pending.assignment_at = min(self._pending.assignment_at or now, now)

    def _failover(self, now: float) -> None:
        pending = self._pending
        if now < pending.assignment_at:
            return
        for account_id in sorted(pending.needs_login):
            if not self.deps.mark_needs_login(account_id):
                pending.assignment_at = now + FAILOVER_RETRY_SECONDS
                return
            pending.needs_login.discard(account_id)
        if pending.assignment_reason is None:
            return
        reason = pending.assignment_reason
        if self.deps.run_assignment(reason):
            metrics.ASSIGNMENTS.labels(reason=reason).inc()
            pending.assignment_reason = None
        else:  # busy elsewhere or the database is out: try again so one run sees our change
            pending.assignment_at = now + FAILOVER_RETRY_SECONDS

    # --- records -------------------------------------------------------------------------------
    def _record(self, slot: Slot) -> WorkerRecord:
        child = slot.child
        return WorkerRecord(
            account_id=slot.account_id, state=slot.state, fleet_id=self.config.fleet_id,
            host=self.config.host, pid=child.pid if child else None, restarts=slot.restarts,
            last_exit_code=slot.last_exit_code, last_exit_reason=slot.last_exit_reason,
            last_error=slot.last_error, started_at=child.started_epoch if child else None,
            updated_at=self._wall(),
        )  # fmt: skip

    def _publish_records(self, now: float) -> None:
        self._timers.records_at = now + RECORD_REFRESH_SECONDS
        prefix, wall = self.config.prefix, self._wall()
        records = [self._record(slot) for slot in self.slots.values()]
        for blocked in self.blocked.values():
            old = blocked.record
            records.append(
                WorkerRecord(
                    account_id=old.account_id,
                    state=old.state,
                    fleet_id=old.fleet_id,
                    host=old.host,
                    pid=None,
                    restarts=old.restarts,
                    last_exit_code=old.last_exit_code,
                    last_exit_reason=old.last_exit_reason,
                    last_error=old.last_error,
                    started_at=None,
                    updated_at=wall,
                )
            )
        states: dict[str, int] = {}
        for record in records:
            states[record.state] = states.get(record.state, 0) + 1
        for state in ("starting", "running", "backoff", "hung", "needs_login", "error"):
            metrics.CHILDREN.labels(state=state).set(states.get(state, 0))
        fleet = FleetRecord(
            fleet_id=self.config.fleet_id, host=self.config.host, pid=self.config.pid,
            max_accounts=self.config.max_accounts, accounts=sorted(self.slots),
            started_at=self._started_epoch, updated_at=wall,
        )  # fmt: skip
        pipe = self.deps.redis.pipeline(transaction=False)
        for record in records:
            pipe.set(
                fleet_worker_key(prefix, record.account_id), encode(record), ex=RECORD_TTL_SECONDS
            )
        pipe.set(fleet_host_key(prefix, self.config.fleet_id), encode(fleet), ex=RECORD_TTL_SECONDS)
        pipe.execute()

    # --- shutdown ------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Drain every child (SIGTERM, SIGKILL after the grace), free leases, drop records."""
        now = self._clock()
        for slot in list(self.slots.values()):
            if slot.child is not None:
                slot.child.stop_requested = True
                slot.child.terminate(now)
        deadline = now + self.config.kill_grace_seconds
        while any(s.child is not None and s.child.poll() is None for s in self.slots.values()):
            if self._clock() >= deadline:
                for slot in self.slots.values():
                    if slot.child is not None and slot.child.poll() is None:
                        self._log.warning("fleet_child_killed_at_shutdown", pid=slot.child.pid)
                        slot.child.process.kill()
                break
            time.sleep(0.05)
        for slot in self.slots.values():
            if slot.child is not None:
                slot.child.process.wait()
                self.deps.on_child_exit(slot.child.pid)
                self._release_dead_lease(slot.account_id, slot.child)
        try:
            keys = [fleet_worker_key(self.config.prefix, a) for a in self.slots]
            keys += [fleet_worker_key(self.config.prefix, a) for a in self.blocked]
            keys.append(fleet_host_key(self.config.prefix, self.config.fleet_id))
            self.deps.redis.delete(*keys)
        except REDIS_ERRORS as exc:
            self._log.warning("fleet_records_not_removed", error_type=type(exc).__name__)
        self._close_pubsub()
        self.slots.clear()
        self._log.info("fleet_stopped")


def _json_object(raw: bytes | str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
