"""REST API: instruments (read-only search) and subscriptions (list, create, bulk, activate,
deactivate, delete, assignment overview). Views validate input and call services/selectors."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api import IsStaffOrReadOnly
from infra.pagination import CountedCursorPage, CursorPage
from subscriptions.models import Instrument, Subscription, SubscriptionStatus
from subscriptions.selectors import (
    SubscriptionFilters,
    assignment_overview,
    instruments_search,
    subscriptions_filtered,
)
from subscriptions.serializers import (
    AssignmentOverviewSerializer,
    BulkCreateResultSerializer,
    InstrumentQuerySerializer,
    InstrumentSerializer,
    StatusChangeResultSerializer,
    StatusChangeSerializer,
    SubscriptionBulkCreateSerializer,
    SubscriptionCreateSerializer,
    SubscriptionQuerySerializer,
    SubscriptionSerializer,
)
from subscriptions.services.subscriptions import (
    subscription_delete,
    subscriptions_bulk_create,
    subscriptions_set_status,
)
from subscriptions.wiring import configured_publisher


class InstrumentPage(CursorPage):
    ordering = ("tradingsymbol", "instrument_token")


class InstrumentViewSet(viewsets.ReadOnlyModelViewSet):
    """Instruments of the registry (Kite's dump); filters run in the database."""

    queryset = Instrument.objects.all()
    serializer_class = InstrumentSerializer
    permission_classes = [IsStaffOrReadOnly]
    pagination_class = InstrumentPage
    lookup_field = "instrument_token"

    def filter_queryset(self, queryset: QuerySet[Any, Any]) -> QuerySet[Any, Any]:
        if self.action != "list":
            return queryset
        query = InstrumentQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return instruments_search(query.filters())

    @extend_schema(parameters=[InstrumentQuerySerializer])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)


class SubscriptionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Subscriptions: what the fleet streams, and which account streams it."""

    queryset = Subscription.objects.select_related("instrument", "account").order_by("pk")
    serializer_class = SubscriptionSerializer
    permission_classes = [IsStaffOrReadOnly]
    pagination_class = CountedCursorPage

    def filter_queryset(self, queryset: QuerySet[Any, Any]) -> QuerySet[Any, Any]:
        if self.action != "list":
            return queryset
        query = SubscriptionQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return subscriptions_filtered(
            SubscriptionQuerySerializer.to_filters(query.validated_data)
        ).order_by("pk")

    @extend_schema(parameters=[SubscriptionQuerySerializer])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=SubscriptionCreateSerializer, responses={201: SubscriptionSerializer})
    def create(self, request: Request) -> Response:
        """Subscribe one instrument by token or ``[EXCHANGE:]TRADINGSYMBOL``."""
        payload = SubscriptionCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        token = data.get("instrument_token")
        symbol = data.get("tradingsymbol")
        report = subscriptions_bulk_create(
            instrument_tokens=[token] if token is not None else [],
            tradingsymbols=[symbol] if symbol is not None else [],
            mode=data["mode"],
        )
        field = "instrument_token" if token is not None else "tradingsymbol"
        given = token if token is not None else symbol
        if report.unknown_tokens or report.unknown_tradingsymbols:
            raise serializers.ValidationError({field: [f"unknown instrument {given}"]})
        if report.ambiguous_tradingsymbols:
            raise serializers.ValidationError(
                {field: [f"{given} is listed on several exchanges; prefix it, e.g. NFO:{given}"]}
            )
        if report.expired:
            raise serializers.ValidationError({field: [f"instrument {given} has expired"]})
        if report.already_subscribed:
            raise serializers.ValidationError(
                {field: [f"instrument {given} is already subscribed"]}
            )
        subscription = self.get_queryset().get(pk=report.created[0])
        return Response(SubscriptionSerializer(subscription).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=SubscriptionBulkCreateSerializer,
        responses={200: BulkCreateResultSerializer, 201: BulkCreateResultSerializer},
    )
    @action(detail=False, methods=["post"])
    def bulk(self, request: Request) -> Response:
        """Subscribe many instruments; unknown, ambiguous and expired ones are reported back."""
        payload = SubscriptionBulkCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        report = subscriptions_bulk_create(
            instrument_tokens=data.get("instrument_tokens", []),
            tradingsymbols=data.get("tradingsymbols", []),
            mode=data["mode"],
        )
        return Response(
            BulkCreateResultSerializer(asdict(report)).data,
            status=status.HTTP_201_CREATED if report.created else status.HTTP_200_OK,
        )

    def _set_status(self, request: Request, new_status: str) -> Response:
        payload = StatusChangeSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        filters: SubscriptionFilters | None = None
        if "filter" in data:
            filters = SubscriptionQuerySerializer.to_filters(data["filter"])
        report = subscriptions_set_status(
            status=new_status,
            subscription_ids=data.get("ids"),
            filters=filters,
            now=timezone.now(),
        )
        return Response(StatusChangeResultSerializer(asdict(report)).data)

    @extend_schema(request=StatusChangeSerializer, responses=StatusChangeResultSerializer)
    @action(detail=False, methods=["post"])
    def activate(self, request: Request) -> Response:
        """Activate subscriptions by ``ids`` or by ``filter``."""
        return self._set_status(request, SubscriptionStatus.ACTIVE)

    @extend_schema(request=StatusChangeSerializer, responses=StatusChangeResultSerializer)
    @action(detail=False, methods=["post"])
    def deactivate(self, request: Request) -> Response:
        """Deactivate subscriptions by ``ids`` or by ``filter``."""
        return self._set_status(request, SubscriptionStatus.INACTIVE)

    @extend_schema(responses=AssignmentOverviewSerializer)
    @action(detail=False, methods=["get"])
    def assignment(self, request: Request) -> Response:
        """Load per account and the active subscriptions no account streams (capacity short)."""
        return Response(AssignmentOverviewSerializer(asdict(assignment_overview())).data)

    def perform_destroy(self, instance: Subscription) -> None:
        subscription_delete(
            subscription=instance, publisher=configured_publisher(), now=timezone.now()
        )
