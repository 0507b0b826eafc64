"""The market model: underlying paths, the option chain priced with a smile, volume and OI.

Free of sockets and of the wall clock: it is built from a config, a seed and a clock (anything
with ``now() -> epoch seconds``), and answers "what is the market at time t" as arrays aligned
with its `Universe`. The simulator's servers read it; the account worker's mock mode can import
it and run it in process.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt

from greeks.engine import bsm_price, calendar_years_to_expiry
from kite_wire.instruments_csv import InstrumentRow
from kite_wire.segments import INDICES, instrument_token
from market_model.clock import IST
from market_model.config import MarketConfig
from market_model.path import (
    SESSION_SECONDS,
    UnderlyingPath,
    locate,
    session_open,
    trading_day,
    trading_day_on_or_before,
)
from market_model.smile import smile_vol
from market_model.universe import KIND_FUTURE, KIND_INDEX, KIND_OPTION, Universe, build_universe

DEPTH_LEVELS: Final = 5

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class Clock(Protocol):
    def now(self) -> float: ...


def years_to_expiry(now: npt.ArrayLike, expiry_epoch: npt.ArrayLike) -> FloatArray:
    """Calendar-basis years to the 15:30 IST expiry, 0 after it (the engine's own measure)."""
    return calendar_years_to_expiry(now, expiry_epoch)


@dataclass(frozen=True, slots=True)
class MarketState:
    """The market at one second; every array is aligned with `Universe` positions."""

    epoch: int
    last_price: FloatArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray  # previous session's close, as Kite reports it
    last_traded_quantity: IntArray
    average_traded_price: FloatArray
    volume_traded: IntArray
    total_buy_quantity: IntArray
    total_sell_quantity: IntArray
    last_trade_time: IntArray
    oi: IntArray
    oi_day_high: IntArray
    oi_day_low: IntArray
    depth_buy_price: FloatArray
    depth_buy_quantity: IntArray
    depth_buy_orders: IntArray
    depth_sell_price: FloatArray
    depth_sell_quantity: IntArray
    depth_sell_orders: IntArray
    underlying_spot: FloatArray  # per underlying (config order)


@dataclass(frozen=True, slots=True)
class Activity:
    """Per-instrument trading intensity, fixed per seed."""

    trade_rate: FloatArray  # trades per second
    trade_lots: IntArray
    oi_start_lots: IntArray
    oi_rate: FloatArray  # lots of OI added per second


class MarketModel:
    """NIFTY and BANKNIFTY, their option chains and nearest futures, deterministic per seed."""

    def __init__(
        self,
        config: MarketConfig,
        *,
        seed: int,
        clock: Clock,
        last_prices: Mapping[int, float] | None = None,
    ) -> None:
        """``last_prices`` (index token -> price) anchors the paths at the clock's start."""
        self.config = config
        self.seed = seed
        self.clock = clock
        self.start_epoch = clock.now()
        start_day, start_second = self._start_position(self.start_epoch)
        self.day0: date = start_day
        given = dict(last_prices or {})
        self.paths: list[UnderlyingPath] = []
        for stream, spec in enumerate(config.underlyings):
            token = instrument_token(spec.index_exchange_token, INDICES)
            self.paths.append(
                UnderlyingPath(
                    seed=seed,
                    stream=stream,
                    annual_vol=spec.annual_vol,
                    anchor_day=0,
                    anchor_second=start_second,
                    anchor_price=float(given.get(token, spec.start_price)),
                )
            )
        centres = [float(p.day_prices(0)[start_second]) for p in self.paths]
        self.universe: Universe = build_universe(config, today=self.day0, centre_prices=centres)
        self.activity = self._draw_activity()
        self._state: MarketState | None = None

    @staticmethod
    def _start_position(epoch: float) -> tuple[date, int]:
        moment = datetime.fromtimestamp(epoch, IST)
        day = trading_day_on_or_before(moment.date())
        second = int((moment - session_open(day)).total_seconds())
        return day, max(0, min(second, SESSION_SECONDS - 1))

    def _draw_activity(self) -> Activity:
        n = len(self.universe)
        rng = np.random.default_rng([self.seed, 7])
        u = self.universe
        spot = np.array([p.day_prices(0)[0] for p in self.paths])[u.underlying]
        moneyness = np.where(u.kind == KIND_OPTION, np.abs(u.strike / spot - 1.0), 0.0)
        # Near-the-money contracts trade most; deep wings trade now and then.
        rate = 2.0 * np.exp(-((moneyness / 0.02) ** 2)) + rng.uniform(0.01, 0.2, n)
        rate = np.where(u.kind == KIND_INDEX, 0.0, rate)
        rate[u.kind == KIND_FUTURE] = 3.0
        return Activity(
            trade_rate=rate,
            trade_lots=rng.integers(1, 6, n),
            oi_start_lots=np.where(u.kind == KIND_INDEX, 0, rng.integers(500, 50_000, n)),
            oi_rate=np.where(u.kind == KIND_INDEX, 0.0, rate * rng.uniform(0.05, 0.3, n)),
        )

    @property
    def instruments(self) -> tuple[InstrumentRow, ...]:
        return self.universe.rows

    def instrument_rows_with_prices(self) -> list[InstrumentRow]:
        """Rows for the instruments dump: ``last_price`` is the previous close, as Kite's is."""
        state = self.state_at(self.clock.now())
        return [
            replace(row, last_price=round(float(close), 2))
            for row, close in zip(self.universe.rows, state.close, strict=True)
        ]

    def advance(self, now: float | None = None) -> MarketState:
        """The state at ``now`` (default: the clock's now), kept as the current state."""
        self._state = self.state_at(self.clock.now() if now is None else now)
        return self._state

    @property
    def current(self) -> MarketState:
        return self._state if self._state is not None else self.advance()

    def spot_at(self, underlying: int, epoch: float) -> float:
        day, second = locate(self.day0, epoch)
        return float(self.paths[underlying].day_prices(day)[second])

    def state_at(self, now: float) -> MarketState:
        """Pure function of (seed, config, start, second): the market at ``now``."""
        epoch = int(now)
        if self._state is not None and self._state.epoch == epoch:
            return self._state
        return self._compute(epoch)

    def price(
        self, positions: npt.ArrayLike, spot: npt.ArrayLike, epoch: npt.ArrayLike
    ) -> FloatArray:
        """Model price (tick-rounded) of instruments at ``positions`` given their spot."""
        u = self.universe
        pos = np.asarray(positions, dtype=np.intp)
        kind = u.kind[pos]
        return instrument_prices(
            spot=spot, t_years=years_to_expiry(epoch, u.expiry_epoch[pos]), strike=u.strike[pos],
            is_call=u.is_call[pos], is_option=kind == KIND_OPTION, is_future=kind == KIND_FUTURE,
            config=self.config,
        )  # fmt: skip

    def _compute(self, epoch: int) -> MarketState:
        u = self.universe
        n = len(u)
        all_pos = np.arange(n)
        days = _UnderlyingDay.at(self.paths, self.day0, epoch)
        spot, day_open, day_high, day_low = days.spot, days.open, days.high, days.low
        prev_close, elapsed = days.prev_close, days.elapsed
        open_epoch, prev_close_epoch = days.open_epoch, days.prev_close_epoch
        under = u.underlying
        last_price = self.price(all_pos, spot[under], epoch)
        up_price = self.price(all_pos, day_high[under], epoch)
        down_price = self.price(all_pos, day_low[under], epoch)
        high = np.maximum(up_price, down_price)
        low = np.minimum(up_price, down_price)
        open_ = self.price(all_pos, day_open[under], open_epoch[under])
        high = np.maximum(high, open_)
        low = np.minimum(low, open_)
        close = self.price(all_pos, prev_close[under], prev_close_epoch[under])

        act = self.activity
        seconds = elapsed[under]
        trades = np.floor(act.trade_rate * seconds).astype(np.int64)
        lot = u.lot_size
        volume = trades * act.trade_lots * lot
        ltq = np.where(trades > 0, act.trade_lots * lot, 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            since_open = np.where(act.trade_rate > 0, np.floor(trades / act.trade_rate), 0.0)
        last_trade_time = (open_epoch[under] + since_open).astype(np.int64)
        tick = self.config.tick_size
        average = np.where(
            u.kind == KIND_INDEX, 0.0, _tick((open_ + high + low + last_price) / 4.0, tick)
        )
        oi_low = act.oi_start_lots * lot
        oi = oi_low + np.floor(act.oi_rate * seconds).astype(np.int64) * lot
        tradable = (u.kind != KIND_INDEX)[:, None]
        levels = np.arange(1, DEPTH_LEVELS + 1)
        bid = last_price[:, None] - tick * levels
        ask = last_price[:, None] + tick * levels
        # Quantities change only when the instrument trades, so quiet contracts stay quiet.
        churn = (trades[:, None] * 7 + levels * 13 + u.tokens[:, None]) % 20 + 1
        bid_qty = np.where(tradable & (bid > 0), churn * lot[:, None], 0)
        ask_qty = np.where(tradable, ((churn + 5) % 20 + 1) * lot[:, None], 0)
        return MarketState(
            epoch=epoch,
            last_price=last_price,
            open=open_,
            high=high,
            low=low,
            close=close,
            last_traded_quantity=ltq,
            average_traded_price=average,
            volume_traded=volume,
            total_buy_quantity=bid_qty.sum(axis=1) * 10,
            total_sell_quantity=ask_qty.sum(axis=1) * 10,
            last_trade_time=np.where(u.kind == KIND_INDEX, 0, last_trade_time),
            oi=oi,
            oi_day_high=oi,
            oi_day_low=oi_low,
            depth_buy_price=np.where(bid_qty > 0, np.round(bid, 2), 0.0),
            depth_buy_quantity=bid_qty,
            depth_buy_orders=np.where(bid_qty > 0, churn % 9 + 1, 0),
            depth_sell_price=np.where(tradable, np.round(ask, 2), 0.0),
            depth_sell_quantity=ask_qty,
            depth_sell_orders=np.where(ask_qty > 0, (churn + 3) % 9 + 1, 0),
            underlying_spot=spot,
        )


@dataclass(frozen=True, slots=True)
class _UnderlyingDay:
    """Each underlying's session so far at one second (config order)."""

    spot: FloatArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    prev_close: FloatArray
    elapsed: FloatArray  # seconds since the open
    open_epoch: FloatArray
    prev_close_epoch: FloatArray

    @classmethod
    def at(cls, paths: list[UnderlyingPath], day0: date, epoch: int) -> _UnderlyingDay:
        day, second = locate(day0, epoch)
        open_epoch = session_open(trading_day(day0, day)).timestamp()
        prev_close_epoch = session_open(trading_day(day0, day - 1)).timestamp() + SESSION_SECONDS
        rows = []
        for path in paths:
            prices = path.day_prices(day)
            so_far = prices[: second + 1]
            rows.append(
                (
                    prices[second],
                    prices[0],
                    so_far.max(),
                    so_far.min(),
                    path.day_prices(day - 1)[-1],
                    second,
                    open_epoch,
                    prev_close_epoch,
                )
            )
        columns = np.array(rows, dtype=np.float64).T
        return cls(*columns)


def instrument_prices(
    *,
    spot: npt.ArrayLike,
    t_years: npt.ArrayLike,
    strike: npt.ArrayLike,
    is_call: npt.ArrayLike,
    is_option: npt.NDArray[np.bool_],
    is_future: npt.NDArray[np.bool_],
    config: MarketConfig,
) -> FloatArray:
    """The model's prices (pure): options from the smile through our engine, futures at the
    forward, indices at the spot; tradables rounded to the tick (options at least one tick).

    The simulator prices its universe with it, and the worker's mock mode its subscriptions.
    """
    s = np.asarray(spot, dtype=np.float64)
    t = np.asarray(t_years, dtype=np.float64)
    rate, tick = config.rate, config.tick_size
    out = np.round(s, 2)
    if np.any(is_future):
        out = np.where(is_future, _tick(s * np.exp(rate * np.maximum(t, 0.0)), tick), out)
    if np.any(is_option):
        k = np.where(is_option, strike, s)
        sigma = smile_vol(spot=s, strike=k, t_years=t, rate=rate, params=config.smile)
        theo = bsm_price(spot=s, strike=k, t_years=t, rate=rate, sigma=sigma, is_call=is_call)
        out = np.where(is_option, np.maximum(_tick(theo, tick), tick), out)
    return out


def _tick(values: npt.ArrayLike, tick: float) -> FloatArray:
    # Round to the tick, then to 2 decimals so 24000.05 is 24000.05, not 24000.050000000003.
    return np.round(np.round(np.asarray(values, dtype=np.float64) / tick) * tick, 2)
