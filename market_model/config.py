"""Market-model configuration: which underlyings, chains, expiries and vols to simulate."""

from __future__ import annotations

from dataclasses import dataclass, field

from market_model.smile import SmileParams


@dataclass(frozen=True, slots=True)
class UnderlyingSpec:
    """An index, its option chain and nearest future."""

    name: str  # Kite's "name" column for derivatives, also the tradingsymbol prefix
    index_symbol: str  # tradingsymbol of the index on NSE
    index_exchange_token: int
    start_price: float
    strike_step: float
    strikes_each_side: int
    lot_size: int
    weekly_expiries: int
    monthly_expiries: int
    annual_vol: float


NIFTY = UnderlyingSpec(
    name="NIFTY",
    index_symbol="NIFTY 50",
    index_exchange_token=1001,  # token 256265
    start_price=24_000.0,
    strike_step=50.0,
    strikes_each_side=30,
    lot_size=65,
    weekly_expiries=4,
    monthly_expiries=3,
    annual_vol=0.14,
)
BANKNIFTY = UnderlyingSpec(
    name="BANKNIFTY",
    index_symbol="NIFTY BANK",
    index_exchange_token=1016,  # token 260105
    start_price=52_000.0,
    strike_step=100.0,
    strikes_each_side=30,
    lot_size=30,
    weekly_expiries=0,
    monthly_expiries=3,
    annual_vol=0.16,
)


@dataclass(frozen=True, slots=True)
class MarketConfig:
    underlyings: tuple[UnderlyingSpec, ...] = (NIFTY, BANKNIFTY)
    rate: float = 0.10
    smile: SmileParams = field(default_factory=SmileParams)
    tick_size: float = 0.05
