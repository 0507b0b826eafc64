"""The fleet supervisor's own Prometheus metrics (its children export theirs; docs/fleet.md)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

RESTARTS = Counter("fleet_child_restarts_total", "Children restarted after a failure or signal")
CHILD_EXITS = Counter(
    "fleet_child_exits_total", "Children that exited, by what the fleet did next", ["action"]
)
HUNG = Counter("fleet_child_hung_total", "Children terminated because their heartbeat went stale")
CHILDREN = Gauge("fleet_children", "Accounts this fleet holds, by worker state", ["state"])
STEP_FAILURES = Counter(
    "fleet_step_failures_total", "Supervisor loop steps that raised (logged)", ["step"]
)
BAD_MESSAGES = Counter("fleet_bad_messages_total", "Unreadable fleet commands or records")
ASSIGNMENTS = Counter(
    "fleet_assignments_total", "Assignment runs the fleet made itself (failover)", ["reason"]
)
