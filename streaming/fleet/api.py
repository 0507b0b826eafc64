"""``/api/v1/fleet/``: every account's worker as the fleet reports it; restart and drain (staff).

Reads go through ``streaming.fleet.selectors.fleet_overview`` (one query, one Redis round trip);
``POST /api/v1/fleet/{account_id}/restart/`` and ``/drain/`` call
``streaming.fleet.services.fleet_worker_command``, the same service as the admin actions.
A Redis outage is a 503 naming the error class. The records hold no secrets.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from redis.exceptions import RedisError
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api import IsStaffOrReadOnly
from accounts.models import Account
from contract.fleet import FleetAction
from infra.redis_factory import process_redis
from streaming.fleet.selectors import fleet_overview
from streaming.fleet.services import fleet_worker_command
from streaming.fleet.status import FleetAccountStatus


class LeaseHolderSerializer(serializers.Serializer[Any]):
    host = serializers.CharField()
    pid = serializers.IntegerField()
    fleet_id = serializers.CharField(allow_null=True)


class FleetAccountSerializer(serializers.Serializer[Any]):
    account_id = serializers.IntegerField()
    name = serializers.CharField()
    account_status = serializers.CharField()
    streamable = serializers.BooleanField()
    subscribed_instruments = serializers.IntegerField()
    state = serializers.CharField(
        help_text="starting, running, backoff, hung, needs_login, error, draining, stopped; "
        "'unsupervised' when a worker heartbeats but no fleet records it"
    )
    host = serializers.CharField(allow_null=True)
    pid = serializers.IntegerField(allow_null=True)
    fleet_id = serializers.CharField(allow_null=True)
    lease_holder = LeaseHolderSerializer(allow_null=True)
    restarts = serializers.IntegerField()
    last_exit_code = serializers.IntegerField(allow_null=True)
    last_exit_reason = serializers.CharField(allow_blank=True)
    last_error = serializers.CharField(allow_blank=True)
    heartbeat_age_seconds = serializers.FloatField(allow_null=True)
    connections = serializers.IntegerField()
    ticks_per_second = serializers.FloatField()
    last_tick_age_seconds = serializers.FloatField(allow_null=True)
    problem = serializers.CharField(allow_blank=True, help_text="why degraded; '' when healthy")


class FleetCommandSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


_UNAVAILABLE = inline_serializer("FleetUnavailable", {"detail": serializers.CharField()})
_COMMAND_SENT = inline_serializer(
    "FleetCommandSent",
    {
        "account_id": serializers.IntegerField(),
        "action": serializers.CharField(),
        "receivers": serializers.IntegerField(help_text="fleets that heard it; 0: none running"),
    },
)


def status_document(status: FleetAccountStatus) -> dict[str, Any]:
    """The API form of one account's status (``asdict`` nests the lease holder too)."""
    return asdict(status)


class FleetViewSet(viewsets.ViewSet):
    permission_classes = [IsStaffOrReadOnly]
    lookup_field = "account_id"
    lookup_value_regex = r"\d+"

    @extend_schema(responses={200: FleetAccountSerializer(many=True), 503: _UNAVAILABLE})
    def list(self, request: Request) -> Response:
        try:
            overview = fleet_overview(
                redis=process_redis(settings.REDIS_URL),
                prefix=settings.TICKER_CHANNEL_PREFIX,
                now=time.time(),
            )
        except RedisError as exc:
            return Response({"detail": f"fleet state unavailable: {type(exc).__name__}"}, 503)
        rows = [status_document(s) for s in overview]
        return Response(FleetAccountSerializer(rows, many=True).data)

    def _command(self, request: Request, account_id: str, verb: FleetAction) -> Response:
        body = FleetCommandSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if not Account.objects.filter(pk=int(account_id)).exists():
            return Response({"detail": f"no account {account_id}"}, status=404)
        reason = body.validated_data["reason"] or f"{verb} by {request.user.get_username()} (api)"
        try:
            receivers = fleet_worker_command(
                redis=process_redis(settings.REDIS_URL),
                prefix=settings.TICKER_CHANNEL_PREFIX,
                account_id=int(account_id),
                action=verb,
                reason=reason,
            )
        except RedisError as exc:
            return Response({"detail": f"command not sent: {type(exc).__name__}"}, status=503)
        return Response(
            {"account_id": int(account_id), "action": verb, "receivers": receivers}, status=202
        )

    @extend_schema(
        request=FleetCommandSerializer, responses={202: _COMMAND_SENT, 503: _UNAVAILABLE}
    )
    @action(detail=True, methods=["post"])
    def restart(self, request: Request, account_id: str) -> Response:
        """Restart the account's worker (the fleet holding its lease obeys)."""
        return self._command(request, account_id, "restart")

    @extend_schema(
        request=FleetCommandSerializer, responses={202: _COMMAND_SENT, 503: _UNAVAILABLE}
    )
    @action(detail=True, methods=["post"])
    def drain(self, request: Request, account_id: str) -> Response:
        """Stop the account's worker and keep it stopped until a restart."""
        return self._command(request, account_id, "drain")
