"""The edge where the greeks app reads Django settings: the market defaults for pricing.

The streaming worker and the historical candles price with the same ``GreeksDefaults`` (rate,
dividend yield, time basis, NSE holidays), built here from the same settings.
"""

from __future__ import annotations

from typing import cast

from django.conf import settings

from greeks.engine import GreeksDefaults
from greeks.expiry_time import Basis
from subscriptions.market_calendar import nse_calendar


def configured_greeks_defaults() -> GreeksDefaults:
    return GreeksDefaults(
        rate=settings.GREEKS_RISK_FREE_RATE,
        dividend_yield=settings.GREEKS_DIVIDEND_YIELD,
        basis=cast(Basis, settings.GREEKS_TIME_BASIS),  # validated by the settings
        holidays=nse_calendar().holidays,
    )
