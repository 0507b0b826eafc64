"""The fleet's health check (registered in ticker_project.health as ``workers``).

Per account: worker state, heartbeat age, connections, ticks/s and, when it is unhealthy, why.
``degraded`` when any account that should stream (``accounts_streamable``) has no running
worker, no fresh heartbeat or stale ticks, or its worker is backing off, hung, needs a login or
stopped on an error; ``down`` when, during market hours, no account with subscriptions that
should stream does (nothing reaches Redis at all). Outside market hours workers stream mock
ticks, so a silent fleet is degraded, not down.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis

from streaming.fleet.selectors import fleet_overview
from streaming.fleet.status import FleetAccountStatus
from subscriptions.market_calendar import MarketCalendar, nse_calendar


@dataclass(frozen=True)
class FleetVerdict:
    status: str  # ok | degraded | down
    reason: str = ""
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)


def _entry(row: FleetAccountStatus) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "state": row.state,
        "heartbeat_age_seconds": row.heartbeat_age_seconds,
        "connections": row.connections,
        "ticks_per_second": row.ticks_per_second,
    }
    if row.problem:
        entry["status"], entry["reason"] = "degraded", row.problem
    else:
        entry["status"] = "ok"
    return entry


def fleet_verdict(rows: list[FleetAccountStatus], *, market_open: bool) -> FleetVerdict:  # pure
    expected = [r for r in rows if r.streamable and r.subscribed_instruments > 0]
    shown = [r for r in rows if r.streamable or r.state != "stopped" or r.problem]
    accounts = {str(r.account_id): _entry(r) for r in shown}
    problems = "; ".join(f"account {r.account_id}: {r.problem}" for r in shown if r.problem)
    if market_open and expected and not any(r.streaming for r in expected):
        # Down, and why per account, so the operator sees the causes in the same line.
        reason = "; ".join(filter(None, ("market open and no account streams", problems)))
        return FleetVerdict("down", reason, accounts)
    if problems:
        return FleetVerdict("degraded", problems, accounts)
    return FleetVerdict("ok", "", accounts)


def check_fleet(
    *,
    redis: redis.Redis,  # the process's shared client: not closed here
    prefix: str,
    now: datetime | None = None,
    calendar: MarketCalendar | None = None,
) -> FleetVerdict:
    at = now or datetime.now(tz=UTC)
    rows = fleet_overview(redis=redis, prefix=prefix, now=at.timestamp())
    return fleet_verdict(rows, market_open=(calendar or nse_calendar()).is_open(at))
