"""`CandleStore` over the database: issue 10a's price-and-store services, bound to the defaults.

Underlying candles are stored under the index's registry row; an index missing from the registry
cannot be stored (its candles still price the options) and is counted by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from greeks.engine import GreeksDefaults
from greeks.history.enrich import StoreCounts
from greeks.history.records import CandleSeries
from greeks.history.services import option_candles_price_and_store, underlying_candles_store
from subscriptions.models import Instrument


@dataclass
class DatabaseCandleStore:
    defaults: GreeksDefaults
    _indices: dict[int, Instrument | None] = field(default_factory=dict)

    def _index(self, token: int) -> Instrument | None:
        if token not in self._indices:
            self._indices[token] = Instrument.objects.filter(instrument_token=token).first()
        return self._indices[token]

    def store_underlying(self, *, series: CandleSeries, now: datetime) -> int | None:
        index = self._index(series.instrument_token)
        if index is None:
            return None
        return underlying_candles_store(instrument=index, candles=series, now=now).stored

    def store_option(
        self,
        *,
        instrument: Instrument,
        option: CandleSeries,
        underlying: CandleSeries | None,
        now: datetime,
    ) -> StoreCounts:
        report = option_candles_price_and_store(
            instrument=instrument,
            option=option,
            underlying=underlying,
            defaults=self.defaults,
            now=now,
        )
        return StoreCounts(
            priced=report.priced, stored=report.stored, unpriced_by_reason=dict(report.failed)
        )
