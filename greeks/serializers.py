"""DRF serializers of the candles API: the query parameters (validated) and a candle's shape."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any, Final

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from greeks.expiry_time import IST
from greeks.history.candle_selectors import CANDLE_COLUMNS, CandleRange, instrument_by_token
from greeks.history.intervals import KITE_INTERVALS
from greeks.models import OptionCandle

MAX_TOKEN: Final = 0xFFFFFFFF  # Kite's instrument tokens are 32-bit


@extend_schema_field(OpenApiTypes.STR)
class MarketTimeField(serializers.Field):
    """A date (a whole IST trading day) or an ISO-8601 datetime with its UTC offset.

    ``end_of_day`` says which end of a bare date is meant (``from``: 00:00 IST, ``to``: the
    last instant of that day in IST). A datetime without an offset is refused, not guessed.
    """

    default_error_messages = {
        "invalid": (
            "expected a date (2025-12-01, an IST day) or a datetime with its offset "
            "(2025-12-01T09:15:00+05:30), got {value!r}"
        ),
        "naive": "give the datetime's offset, e.g. {value}+05:30 (IST) or {value}Z (UTC)",
    }

    def __init__(self, *, end_of_day: bool, **kwargs: Any) -> None:
        self.end_of_day = end_of_day
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> datetime:
        text = str(data).strip()
        try:
            if len(text) == 10:
                day = date.fromisoformat(text)
                return datetime.combine(day, time.max if self.end_of_day else time.min, IST)
            moment = datetime.fromisoformat(text)
        except ValueError:
            self.fail("invalid", value=text[:64])
        if moment.tzinfo is None or moment.utcoffset() is None:
            self.fail("naive", value=text[:64])
        return moment

    def to_representation(self, value: datetime) -> str:
        return value.isoformat()


class CandleQuerySerializer(serializers.Serializer):
    """Query parameters of ``GET /api/v1/greeks/candles/``."""

    instrument = serializers.IntegerField(
        min_value=1, max_value=MAX_TOKEN, help_text="the option's instrument_token"
    )
    interval = serializers.ChoiceField(choices=list(KITE_INTERVALS), default="minute")
    format = serializers.ChoiceField(
        choices=["json", "csv"],
        required=False,
        help_text="csv: every candle of the range, streamed",
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        # "from" is a Python keyword, so these two are added here rather than declared.
        fields["from"] = MarketTimeField(
            end_of_day=False, required=False,
            help_text="first candle start, inclusive: a date (from 00:00 IST) or offset datetime",
        )  # fmt: skip
        fields["to"] = MarketTimeField(
            end_of_day=True, required=False,
            help_text="last candle start, inclusive: a date (the whole IST day) or offset datetime",
        )  # fmt: skip
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("from"), attrs.get("to")
        if start is not None and end is not None and start > end:
            raise serializers.ValidationError({"from": "must not be after to"})
        instrument = instrument_by_token(attrs["instrument"])
        if instrument is None:
            raise serializers.ValidationError(
                {"instrument": f"no instrument with token {attrs['instrument']}"}
            )
        attrs["range"] = CandleRange(
            instrument_id=instrument.pk, interval=attrs["interval"], start=start, end=end
        )
        return attrs


class OptionCandleSerializer(serializers.ModelSerializer):
    """One candle; ``iv_error`` is null when the IV was solved."""

    iv_error = serializers.SerializerMethodField()

    class Meta:
        model = OptionCandle
        fields = list(CANDLE_COLUMNS)
        read_only_fields = fields

    def get_iv_error(self, candle: OptionCandle) -> str | None:
        return candle.iv_error or None
