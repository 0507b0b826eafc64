"""Health of the assignment: active subscriptions that no account streams (capacity short)."""

from __future__ import annotations

from typing import Literal

from django.db import DatabaseError

from subscriptions.selectors import subscriptions_unassigned_active

AssignmentStatus = Literal["ok", "degraded"]


def assignment_health() -> tuple[AssignmentStatus, str]:
    """``degraded`` with a reason naming how many active subscriptions are unassigned."""
    try:
        unassigned = subscriptions_unassigned_active().count()
    except DatabaseError as exc:  # the database check reports the outage itself
        return "degraded", f"cannot count unassigned subscriptions: {type(exc).__name__}"
    if unassigned:
        return (
            "degraded",
            f"{unassigned} active subscription(s) unassigned: not enough healthy account "
            "capacity (or the assignment has not run yet)",
        )
    return "ok", ""
