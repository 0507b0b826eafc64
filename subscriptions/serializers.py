"""DRF serializers of the instruments and subscriptions API: output shapes and validated input."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kite_wire.instruments_csv import INSTRUMENT_TYPES
from subscriptions.models import (
    Instrument,
    Subscription,
    SubscriptionMode,
    SubscriptionSource,
    SubscriptionStatus,
)
from subscriptions.selectors import InstrumentFilters, SubscriptionFilters
from subscriptions.services.instruments import UPSERT_FIELDS

MAX_BULK = 10_000


@extend_schema_field(
    {
        "type": "string",
        "pattern": "^(" + "|".join(SubscriptionStatus.values) + ")$",
        "description": "subscription status: " + ", ".join(SubscriptionStatus.values),
    }
)
class SubscriptionStatusField(serializers.ChoiceField):
    """Subscription status. OpenAPI describes it with a pattern, not an enum: a ``StatusEnum``
    component would collide with the accounts API's ``status`` (other choices), and the fix for
    that (ENUM_NAME_OVERRIDES) lives in settings this app does not own."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=SubscriptionStatus.choices, **kwargs)


class InstrumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Instrument
        # Every column the registry refresh writes, plus the token itself.
        fields = ["instrument_token", *UPSERT_FIELDS]
        read_only_fields = fields


class InstrumentQuerySerializer(serializers.Serializer):
    """Query parameters of ``GET /api/v1/instruments/``."""

    tradingsymbol = serializers.CharField(
        required=False, max_length=64, help_text="tradingsymbol prefix, e.g. NIFTY25DEC"
    )
    name = serializers.CharField(required=False, max_length=64, help_text="underlying, e.g. NIFTY")
    expiry = serializers.DateField(required=False)
    strike_min = serializers.FloatField(required=False, min_value=0)
    strike_max = serializers.FloatField(required=False, min_value=0)
    instrument_type = serializers.ChoiceField(choices=sorted(INSTRUMENT_TYPES), required=False)
    segment = serializers.CharField(required=False, max_length=16)
    exchange = serializers.CharField(required=False, max_length=8)
    include_expired = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        low, high = attrs.get("strike_min"), attrs.get("strike_max")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError({"strike_min": "must not exceed strike_max"})
        return attrs

    def filters(self) -> InstrumentFilters:
        data = self.validated_data
        return InstrumentFilters(
            tradingsymbol_prefix=data.get("tradingsymbol", ""),
            name=data.get("name", ""),
            expiry=data.get("expiry"),
            strike_min=data.get("strike_min"),
            strike_max=data.get("strike_max"),
            instrument_type=data.get("instrument_type", ""),
            segment=data.get("segment", ""),
            exchange=data.get("exchange", ""),
            include_expired=data.get("include_expired", False),
        )


class SubscriptionInstrumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Instrument
        fields = [
            "instrument_token",
            "tradingsymbol",
            "name",
            "exchange",
            "segment",
            "instrument_type",
            "strike",
            "expiry",
        ]
        read_only_fields = fields


class SubscriptionSerializer(serializers.ModelSerializer):
    instrument = SubscriptionInstrumentSerializer(read_only=True)
    account_name = serializers.CharField(source="account.name", read_only=True, default=None)
    status = SubscriptionStatusField(read_only=True)

    class Meta:
        model = Subscription
        fields = [
            "id",
            "instrument",
            "mode",
            "status",
            "source",
            "account",
            "account_name",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class SubscriptionQuerySerializer(serializers.Serializer):
    """Filters of the subscription list and of bulk activate/deactivate by query."""

    status = SubscriptionStatusField(required=False)
    account = serializers.IntegerField(required=False, min_value=1)
    # A field named like Field.source: fine at runtime, the stubs' attribute type disagrees.
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=SubscriptionSource.choices, required=False
    )
    underlying = serializers.CharField(required=False, max_length=32)
    mode = serializers.ChoiceField(choices=SubscriptionMode.choices, required=False)
    unassigned = serializers.BooleanField(required=False, allow_null=True, default=None)

    @staticmethod
    def to_filters(data: dict[str, Any]) -> SubscriptionFilters:
        return SubscriptionFilters(
            status=data.get("status", ""),
            account_id=data.get("account"),
            source=data.get("source", ""),
            underlying=data.get("underlying", ""),
            mode=data.get("mode", ""),
            unassigned=data.get("unassigned"),
        )


class SubscriptionCreateSerializer(serializers.Serializer):
    instrument_token = serializers.IntegerField(required=False, min_value=1)
    tradingsymbol = serializers.CharField(
        required=False,
        max_length=80,
        help_text="[EXCHANGE:]TRADINGSYMBOL, e.g. NFO:NIFTY25DEC24000CE",
    )
    mode = serializers.ChoiceField(choices=SubscriptionMode.choices, default=SubscriptionMode.FULL)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("instrument_token" in attrs) == ("tradingsymbol" in attrs):
            raise serializers.ValidationError(
                {"instrument_token": "give exactly one of instrument_token and tradingsymbol"}
            )
        return attrs


class SubscriptionBulkCreateSerializer(serializers.Serializer):
    instrument_tokens = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=MAX_BULK
    )
    tradingsymbols = serializers.ListField(
        child=serializers.CharField(max_length=80), required=False, max_length=MAX_BULK
    )
    mode = serializers.ChoiceField(choices=SubscriptionMode.choices, default=SubscriptionMode.FULL)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("instrument_tokens") and not attrs.get("tradingsymbols"):
            raise serializers.ValidationError(
                {"instrument_tokens": "give instrument_tokens and/or tradingsymbols"}
            )
        return attrs


class BulkCreateResultSerializer(serializers.Serializer):
    created = serializers.ListField(child=serializers.IntegerField(), help_text="subscription ids")
    already_subscribed = serializers.ListField(child=serializers.IntegerField())
    unknown_tokens = serializers.ListField(child=serializers.IntegerField())
    unknown_tradingsymbols = serializers.ListField(child=serializers.CharField())
    ambiguous_tradingsymbols = serializers.ListField(child=serializers.CharField())
    expired = serializers.ListField(child=serializers.IntegerField())


class StatusChangeSerializer(serializers.Serializer):
    """Either ``ids`` or ``filter`` (at least one criterion), never both."""

    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=MAX_BULK
    )
    filter = SubscriptionQuerySerializer(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        has_ids, query = "ids" in attrs, attrs.get("filter")
        has_filter = (
            query is not None and not SubscriptionQuerySerializer.to_filters(query).is_empty
        )
        if has_ids == has_filter:
            raise serializers.ValidationError(
                {"ids": "give either ids or a filter with at least one criterion"}
            )
        return attrs


class StatusChangeResultSerializer(serializers.Serializer):
    matched = serializers.IntegerField()
    changed = serializers.IntegerField()
    unknown_ids = serializers.ListField(child=serializers.IntegerField())


class AccountLoadSerializer(serializers.Serializer):
    account_id = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.CharField()
    capacity = serializers.IntegerField()
    subscriptions = serializers.IntegerField()


class AssignmentOverviewSerializer(serializers.Serializer):
    active = serializers.IntegerField()
    unassigned = serializers.IntegerField()
    unassigned_tokens = serializers.ListField(child=serializers.IntegerField())
    accounts = AccountLoadSerializer(many=True)
