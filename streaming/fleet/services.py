"""Ops actions on a fleet worker: one service shared by the admin and the API."""

from __future__ import annotations

import redis
import structlog

from contract.fleet import FleetAction, FleetCommand, encode, fleet_control_channel

log = structlog.get_logger(__name__)


def fleet_worker_command(
    *, redis: redis.Redis, prefix: str, account_id: int, action: FleetAction, reason: str
) -> int:
    """Publish a restart or drain of one account's worker; returns how many fleets heard it.

    The fleet holding the account's lease obeys; 0 listeners means no fleet is running (the
    command is lost: pub/sub keeps nothing), which the callers report.
    """
    if action not in ("restart", "drain"):
        raise ValueError(f"unknown fleet action {action!r}")
    command = FleetCommand(action=action, account_id=account_id, reason=reason)
    receivers = int(redis.publish(fleet_control_channel(prefix), encode(command)))
    log.info(
        "fleet_worker_command", action=action, account_id=account_id, reason=reason,
        receivers=receivers,
    )  # fmt: skip
    return receivers
