"""The chain API's query parameters and, for the OpenAPI schema, the shape of its answers.

The answers themselves are built as plain dicts (``chain.payload``): a 200-strike chain has
some 7,000 values and a serializer per value would cost most of the request's time budget.
tests/chain/test_api.py validates served answers against the OpenAPI schema built from these.
"""

from __future__ import annotations

from typing import Any, Final

from rest_framework import serializers

UNDERLYING_PATTERN: Final = r"^[A-Za-z0-9&_\- ]{1,32}$"
MAX_STRIKES_EACH_SIDE: Final = 500


class ChainQuerySerializer(serializers.Serializer[Any]):
    underlying = serializers.RegexField(
        UNDERLYING_PATTERN, max_length=32, help_text="the options' underlying name, e.g. NIFTY"
    )
    expiry = serializers.DateField(
        required=False, help_text="YYYY-MM-DD; default: the nearest live expiry"
    )
    strikes = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_STRIKES_EACH_SIDE,
        help_text="only this many strikes either side of the ATM strike (summary figures still "
        "cover the whole chain)",
    )


class TermQuerySerializer(serializers.Serializer[Any]):
    underlying = serializers.RegexField(
        UNDERLYING_PATTERN, max_length=32, help_text="the options' underlying name, e.g. NIFTY"
    )


def _number(help_text: str) -> serializers.FloatField:
    return serializers.FloatField(allow_null=True, help_text=help_text)


def _integer(help_text: str) -> serializers.IntegerField:
    return serializers.IntegerField(allow_null=True, help_text=help_text)


class ChainSideSerializer(serializers.Serializer[Any]):
    instrument_token = serializers.IntegerField()
    tradingsymbol = serializers.CharField()
    last_price = _number("last traded price, rupees")
    bid = _number("best bid (full mode depth)")
    ask = _number("best ask (full mode depth)")
    spread = _number("ask - bid")
    volume = _integer("volume traded today")
    oi = _integer("open interest")
    oi_change = _integer("OI minus the session's first-seen OI (docs/chain.md)")
    iv = _number("implied volatility, annualised fraction")
    delta = _number("per rupee of the underlying")
    gamma = _number("per rupee squared")
    theta = _number("per calendar day")
    vega = _number("per volatility point (0.01)")
    age_seconds = _number("now minus when the worker received the tick (received_at)")
    stale = serializers.BooleanField(help_text="no tick, or older than QUOTES_STALE_SECONDS")
    priced = serializers.BooleanField(help_text="IV and Greeks present")
    itm = serializers.BooleanField(
        allow_null=True, help_text="in the money against the spot (null: no spot nor forward)"
    )


class ChainRowSerializer(serializers.Serializer[Any]):
    strike = serializers.FloatField()
    is_atm = serializers.BooleanField()
    ce = ChainSideSerializer(allow_null=True)
    pe = ChainSideSerializer(allow_null=True)


class ChainSpotSerializer(serializers.Serializer[Any]):
    price = _number("the index's latest price")
    age_seconds = _number("its age")
    stale = serializers.BooleanField()


class ChainSerializer(serializers.Serializer[Any]):
    underlying = serializers.CharField()
    expiry = serializers.DateField()
    expiries = serializers.ListField(child=serializers.DateField())
    as_of = serializers.FloatField(help_text="epoch seconds the chain was read")
    spot = ChainSpotSerializer()
    forward = _number("put-call parity forward, else the spot")
    forward_source = serializers.ChoiceField(choices=["parity", "spot"], allow_null=True)
    atm_strike = _number("strike nearest the forward")
    atm_iv = _number("mean of the ATM CE and PE IV")
    straddle = _number("ATM CE + PE last price")
    implied_move = _number("straddle / forward")
    implied_move_1sd = _number("ATM IV x sqrt(years to expiry)")
    days_to_expiry = serializers.FloatField()
    pcr_oi = _number("put OI / call OI")
    pcr_volume = _number("put volume / call volume")
    max_pain = _number("strike minimising the writers' payout")
    iv_call_25d = _number("call IV at delta 0.25")
    iv_put_25d = _number("put IV at delta -0.25")
    risk_reversal_25d = _number("iv_call_25d - iv_put_25d")
    butterfly_25d = _number("(iv_call_25d + iv_put_25d) / 2 - atm_iv")
    data_age_seconds = _number("age of the newest tick in the chain")
    oi_change_since = serializers.DateField(help_text="the session whose first OI is the base")
    stale_after_seconds = serializers.FloatField()
    rows = ChainRowSerializer(many=True)


class ChainTermPointSerializer(serializers.Serializer[Any]):
    expiry = serializers.DateField()
    days_to_expiry = serializers.FloatField()
    atm_strike = _number("strike nearest the forward")
    atm_iv = _number("ATM IV")
    forward = _number("forward")


class ChainTermSerializer(serializers.Serializer[Any]):
    underlying = serializers.CharField()
    as_of = serializers.FloatField()
    points = ChainTermPointSerializer(many=True)


class ChainErrorSerializer(serializers.Serializer[Any]):
    detail = serializers.CharField()
