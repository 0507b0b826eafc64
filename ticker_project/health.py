"""``/api/health/``: one JSON verdict over independent checks, each with a reason when it fails.

A check returns ``CheckResult``; ``down`` anywhere makes the service down (503), ``degraded``
keeps it up (200). Later components add checks to ``HEALTH_CHECKS`` (the fleet's heartbeats).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import redis
import structlog
from django.conf import settings
from django.db import DatabaseError, connections
from django.http import HttpRequest, JsonResponse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes, throttle_classes
from rest_framework.permissions import AllowAny

from infra.redis_factory import process_redis
from streaming.fleet.health import check_fleet
from subscriptions.health import assignment_health
from ticker_project.metrics import HEALTH_CHECK_FAILURES

log = structlog.get_logger(__name__)

Status = Literal["ok", "degraded", "down"]
_SEVERITY: dict[Status, int] = {"ok": 0, "degraded": 1, "down": 2}


@dataclass(frozen=True)
class CheckResult:
    status: Status
    reason: str = ""
    details: dict[str, Any] | None = None  # shown under the check's ``accounts`` key


def check_workers() -> CheckResult:
    verdict = check_fleet(
        redis=process_redis(settings.REDIS_URL),
        prefix=settings.TICKER_CHANNEL_PREFIX,
    )
    return CheckResult(verdict.status, verdict.reason, verdict.accounts)  # type: ignore[arg-type]


def check_database() -> CheckResult:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return CheckResult("down", f"database unreachable: {type(exc).__name__}: {exc}")
    return CheckResult("ok")


def check_redis(url: str) -> CheckResult:
    try:
        process_redis(url).ping()
    except redis.exceptions.RedisError as exc:
        return CheckResult("down", f"redis unreachable: {type(exc).__name__}: {exc}")
    return CheckResult("ok")


HEALTH_CHECKS: dict[str, Callable[[], CheckResult]] = {
    "database": check_database,
    "redis": lambda: check_redis(settings.REDIS_URL),
    "assignment": lambda: CheckResult(*assignment_health()),
    "workers": check_workers,
}


def evaluate(
    checks: dict[str, Callable[[], CheckResult]],
) -> tuple[Status, dict[str, dict[str, Any]]]:
    """Run every check; the overall status is the worst one."""
    overall: Status = "ok"
    report: dict[str, dict[str, Any]] = {}
    for name, check in checks.items():
        try:
            result = check()
        except (DatabaseError, redis.exceptions.RedisError) as exc:
            # A check that needs a store which is down cannot answer: it is down too (the
            # store's own check says why first).
            result = CheckResult("down", f"cannot run: {type(exc).__name__}: {exc}")
        entry: dict[str, Any] = {"status": result.status}
        if result.reason:
            entry["reason"] = result.reason
            HEALTH_CHECK_FAILURES.labels(check=name, status=result.status).inc()
            log.warning(
                "health_check_failed", check=name, status=result.status, reason=result.reason
            )
        if result.details:
            entry["accounts"] = result.details
        report[name] = entry
        if _SEVERITY[result.status] > _SEVERITY[overall]:
            overall = result.status
    return overall, report


@extend_schema(
    responses={
        200: inline_serializer(
            "Health", {"status": serializers.CharField(), "checks": serializers.DictField()}
        ),
        503: inline_serializer(
            "HealthDown", {"status": serializers.CharField(), "checks": serializers.DictField()}
        ),
    },
    auth=[],
)
@api_view(["GET"])
@permission_classes([AllowAny])
@throttle_classes([])  # probes poll it, and it must answer while Redis (the throttle store) is down
def health_view(request: HttpRequest) -> JsonResponse:
    overall, report = evaluate(HEALTH_CHECKS)
    return JsonResponse(
        {"status": overall, "checks": report}, status=503 if overall == "down" else 200
    )
