"""Services for historical candles: price one contract's candles and store them; store an
underlying's candles. The fetcher (``historical_greeks_enrich``), commands and tasks call these.

Both take typed ``CandleSeries`` (validated at the Kite edge), drop candles still running at
``now``, and write in bulk and idempotently (``greeks.history.storage``): the number of queries
does not depend on the number of candles, and a rerun over the same range changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from greeks.engine import GreeksDefaults
from greeks.history.pricing import OptionContract, price_option_candles, series_closed_at
from greeks.history.records import CandleSeries
from greeks.history.storage import UpsertCounts, option_candles_upsert, underlying_candles_upsert
from subscriptions.models import Instrument

_OPTION_TYPES = {"CE": True, "PE": False}


@dataclass(frozen=True, slots=True)
class OptionCandlesReport:
    """One contract's run: candles received, dropped (still running), priced, failed, stored.

    ``failed`` counts the candles without an IV by ``iv_error`` label (e.g.
    ``{"no_underlying_price": 3, "below_intrinsic": 1}``); they are stored too, with null IV
    and Greeks. ``stored`` = ``inserted + updated + unchanged`` (= ``received -
    dropped_running``).
    """

    received: int
    dropped_running: int
    priced: int
    failed: dict[str, int] = field(default_factory=dict)
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def stored(self) -> int:
        return self.inserted + self.updated + self.unchanged


@dataclass(frozen=True, slots=True)
class UnderlyingCandlesReport:
    """An underlying's run: candles received, dropped (still running), and what was stored."""

    received: int
    dropped_running: int
    inserted: int
    updated: int
    unchanged: int

    @property
    def stored(self) -> int:
        return self.inserted + self.updated + self.unchanged


def option_contract(instrument: Instrument) -> OptionContract:
    """The pricing terms of an option instrument; ``ValueError`` for anything else."""
    is_call = _OPTION_TYPES.get(instrument.instrument_type)
    if is_call is None or instrument.expiry is None or not instrument.strike > 0:
        raise ValueError(
            f"{instrument} is not an option (type {instrument.instrument_type!r}, "
            f"expiry {instrument.expiry}, strike {instrument.strike})"
        )
    return OptionContract(
        strike=float(instrument.strike), is_call=is_call, expiry=instrument.expiry
    )


def _check_token(instrument: Instrument, series: CandleSeries, what: str) -> None:
    if series.instrument_token != instrument.instrument_token:
        raise ValueError(
            f"{what} candles are of token {series.instrument_token}, "
            f"not of {instrument} ({instrument.instrument_token})"
        )


def option_candles_price_and_store(
    *,
    instrument: Instrument,
    option: CandleSeries,
    underlying: CandleSeries | None,
    defaults: GreeksDefaults,
    now: datetime,
) -> OptionCandlesReport:
    """Price every closed candle of one option contract in one engine call and store them.

    ``option``: the contract's candles (``option.instrument_token`` must be the instrument's).
    ``underlying``: its index's candles of the same interval over the same range, or None if
    none could be fetched (every candle then gets ``iv_error="no_underlying_price"``).
    ``defaults``: ``greeks.wiring.configured_greeks_defaults()`` (the streaming worker's).
    ``now``: aware; candles closing after it are still running and are neither priced nor
    stored. A constant number of queries (4, in one transaction) whatever the candle count;
    none for an empty series. Raises ``ValueError`` for a non-option instrument, a series of
    another token, or an underlying of another interval.
    """
    _check_token(instrument, option, "option")
    contract = option_contract(instrument)
    priced = price_option_candles(
        option=option,
        underlying=underlying,
        contract=contract,
        defaults=defaults,
        now_epoch=_epoch(now),
    )
    counts = option_candles_upsert(
        instrument_id=instrument.pk,
        interval=option.interval,
        underlying=instrument.name,
        expiry=contract.expiry,
        priced=priced,
    )
    return OptionCandlesReport(
        received=len(option),
        dropped_running=priced.dropped_running,
        priced=priced.priced,
        failed=priced.failed_by_reason(),
        inserted=counts.inserted,
        updated=counts.updated,
        unchanged=counts.unchanged,
    )


def underlying_candles_store(
    *, instrument: Instrument, candles: CandleSeries, now: datetime
) -> UnderlyingCandlesReport:
    """Store an underlying's (index's) closed candles, so charts show spot beside IV.

    Same rules as ``option_candles_price_and_store``: running candles dropped, bulk and
    idempotent, a constant number of queries.
    """
    _check_token(instrument, candles, "underlying")
    closed, dropped = series_closed_at(candles, _epoch(now))
    counts: UpsertCounts = underlying_candles_upsert(instrument_id=instrument.pk, candles=closed)
    return UnderlyingCandlesReport(
        received=len(candles),
        dropped_running=dropped,
        inserted=counts.inserted,
        updated=counts.updated,
        unchanged=counts.unchanged,
    )


def _epoch(now: datetime) -> float:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got naive {now.isoformat()}")
    return now.timestamp()
