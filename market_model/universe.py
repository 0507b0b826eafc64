"""The simulated instrument universe: indices, option chains and nearest futures, as arrays.

Tokens follow Kite: instrument_token = exchange_token << 8 | segment (NFO 2, indices 9).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

import numpy as np
import numpy.typing as npt

from kite_wire.instruments_csv import InstrumentRow
from kite_wire.segments import INDICES, NFO, instrument_token
from market_model.config import MarketConfig
from market_model.expiries import (
    expiry_close,
    future_symbol,
    monthly_expiries,
    option_symbol,
    weekly_expiries,
)

KIND_INDEX: Final = 0
KIND_FUTURE: Final = 1
KIND_OPTION: Final = 2
# First NFO exchange token handed out; derivatives are numbered in build order (deterministic).
_FIRST_DERIVATIVE_EXCHANGE_TOKEN: Final = 35_000


@dataclass(frozen=True, slots=True)
class Universe:
    """Instrument rows plus aligned arrays the model computes on (one element per instrument)."""

    rows: tuple[InstrumentRow, ...]
    tokens: npt.NDArray[np.int64]
    kind: npt.NDArray[np.int8]
    underlying: npt.NDArray[np.int64]  # index into config.underlyings
    strike: npt.NDArray[np.float64]
    expiry_epoch: npt.NDArray[np.float64]  # 15:30 IST on expiry; NaN for indices
    is_call: npt.NDArray[np.bool_]
    lot_size: npt.NDArray[np.int64]
    index_position: tuple[int, ...]  # position of each underlying's index in the arrays
    by_token: dict[int, int]
    by_key: dict[str, int]  # "NFO:NIFTY25NOV24000CE" -> position

    def __len__(self) -> int:
        return len(self.rows)


def build_universe(config: MarketConfig, *, today: date, centre_prices: list[float]) -> Universe:
    """Chains centred on ``centre_prices`` (one per underlying), expiries from ``today``."""
    rows: list[InstrumentRow] = []
    meta: list[tuple[int, int, float, float, bool, int]] = []
    index_position: list[int] = []
    next_exchange_token = _FIRST_DERIVATIVE_EXCHANGE_TOKEN
    for u, spec in enumerate(config.underlyings):
        index_position.append(len(rows))
        rows.append(
            InstrumentRow(
                instrument_token=instrument_token(spec.index_exchange_token, INDICES),
                exchange_token=spec.index_exchange_token,
                tradingsymbol=spec.index_symbol,
                name=spec.index_symbol,
                last_price=0.0,
                expiry=None,
                strike=0.0,
                tick_size=0.0,
                lot_size=0,
                instrument_type="EQ",
                segment="INDICES",
                exchange="NSE",
            )
        )
        meta.append((KIND_INDEX, u, 0.0, float("nan"), False, 0))
        monthlies = monthly_expiries(today, spec.monthly_expiries)
        weeklies = weekly_expiries(today, spec.weekly_expiries, monthlies=set(monthlies))
        centre = round(centre_prices[u] / spec.strike_step) * spec.strike_step
        strikes = [
            centre + i * spec.strike_step
            for i in range(-spec.strikes_each_side, spec.strikes_each_side + 1)
        ]
        future_expiry = monthlies[0]
        rows.append(
            InstrumentRow(
                instrument_token=instrument_token(next_exchange_token, NFO),
                exchange_token=next_exchange_token,
                tradingsymbol=future_symbol(spec.name, future_expiry),
                name=spec.name,
                last_price=0.0,
                expiry=future_expiry,
                strike=0.0,
                tick_size=config.tick_size,
                lot_size=spec.lot_size,
                instrument_type="FUT",
                segment="NFO-FUT",
                exchange="NFO",
            )
        )
        meta.append(
            (KIND_FUTURE, u, 0.0, expiry_close(future_expiry).timestamp(), False, spec.lot_size)
        )
        next_exchange_token += 1
        for expiry in sorted([*weeklies, *monthlies]):
            monthly = expiry in monthlies
            for strike in strikes:
                for call in (True, False):
                    rows.append(
                        InstrumentRow(
                            instrument_token=instrument_token(next_exchange_token, NFO),
                            exchange_token=next_exchange_token,
                            tradingsymbol=option_symbol(
                                spec.name, expiry, strike, monthly=monthly, call=call
                            ),
                            name=spec.name,
                            last_price=0.0,
                            expiry=expiry,
                            strike=strike,
                            tick_size=config.tick_size,
                            lot_size=spec.lot_size,
                            instrument_type="CE" if call else "PE",
                            segment="NFO-OPT",
                            exchange="NFO",
                        )
                    )
                    meta.append(
                        (
                            KIND_OPTION,
                            u,
                            strike,
                            expiry_close(expiry).timestamp(),
                            call,
                            spec.lot_size,
                        )
                    )
                    next_exchange_token += 1
    kind, underlying, strike_, expiry_, call_, lot = zip(*meta, strict=True)
    tokens = np.array([r.instrument_token for r in rows], dtype=np.int64)
    return Universe(
        rows=tuple(rows),
        tokens=tokens,
        kind=np.array(kind, dtype=np.int8),
        underlying=np.array(underlying, dtype=np.int64),
        strike=np.array(strike_, dtype=np.float64),
        expiry_epoch=np.array(expiry_, dtype=np.float64),
        is_call=np.array(call_, dtype=np.bool_),
        lot_size=np.array(lot, dtype=np.int64),
        index_position=tuple(index_position),
        by_token={int(t): i for i, t in enumerate(tokens)},
        by_key={f"{r.exchange}:{r.tradingsymbol}": i for i, r in enumerate(rows)},
    )
