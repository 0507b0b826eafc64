"""Option-chain analytics of one underlying and expiry (pure: arrays in, a typed result out).

No Django, no Redis, no clock: the reader (``chain.selectors``) passes the registry's strikes,
the snapshots' numbers as float arrays (NaN where a value is unknown), the current time and the
settings in. Every computation is vectorised over strikes. Definitions and formulas:
docs/chain.md.

Unknown stays unknown: a missing side, a side without a snapshot, a value the snapshot does not
carry are NaN here and ``null`` in the API, never 0; stale ticks are flagged, not dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

PARITY_STRIKES: Final = 3
"""Put-call parity is read at up to this many fresh two-sided strikes nearest the spot."""
WING_DELTA: Final = 0.25
ForwardSource = Literal["parity", "spot"]


@dataclass(frozen=True)
class SideQuotes:
    """One side (CE or PE) of the chain, one entry per strike of ``ChainInput.strikes``.

    ``listed``: the registry has this instrument (False: the side does not exist at that
    strike). Every other array is float, NaN where unknown (no snapshot, or not in it).
    ``oi_open``: the OI of the session's first snapshot (docs/chain.md, "OI change").
    """

    listed: BoolArray
    price: FloatArray
    bid: FloatArray
    ask: FloatArray
    volume: FloatArray
    oi: FloatArray
    oi_open: FloatArray
    iv: FloatArray
    delta: FloatArray
    gamma: FloatArray
    theta: FloatArray
    vega: FloatArray
    ts: FloatArray  # what ages count from (the reader passes received_at, docs/chain.md)

    @classmethod
    def empty(cls, size: int) -> SideQuotes:
        """A side with nothing listed (every value unknown), to be filled in place."""

        def nan() -> FloatArray:
            return np.full(size, np.nan)

        return cls(
            listed=np.zeros(size, dtype=np.bool_), price=nan(), bid=nan(), ask=nan(),
            volume=nan(), oi=nan(), oi_open=nan(), iv=nan(), delta=nan(), gamma=nan(),
            theta=nan(), vega=nan(), ts=nan(),
        )  # fmt: skip


@dataclass(frozen=True)
class ChainInput:
    """One underlying and expiry: ascending distinct ``strikes`` and both sides on them."""

    strikes: FloatArray
    ce: SideQuotes
    pe: SideQuotes
    spot: float | None
    spot_ts: float | None
    now: float
    stale_after_seconds: float
    years_to_expiry: float
    rate: float


@dataclass(frozen=True)
class SideAnalytics:
    """Per strike, for one side: what is derived from its quote (NaN / False when unknown)."""

    spread: FloatArray
    oi_change: FloatArray
    age_seconds: FloatArray
    stale: BoolArray
    """No snapshot, no timestamp, or older than the threshold (only meaningful where listed)."""
    priced: BoolArray
    """IV and delta present."""
    itm: BoolArray
    """In the money against the spot (the forward when there is no spot)."""


@dataclass(frozen=True)
class ChainAnalytics:
    ce: SideAnalytics
    pe: SideAnalytics
    spot_age_seconds: float | None
    spot_stale: bool
    forward: float | None
    forward_source: ForwardSource | None
    atm_index: int | None
    atm_strike: float | None
    atm_iv: float | None
    straddle: float | None
    implied_move: float | None
    """ATM straddle / forward: the market's expected absolute move to expiry, as a fraction."""
    implied_move_1sd: float | None
    """ATM IV x sqrt(years to expiry): one standard deviation of the log move to expiry."""
    pcr_oi: float | None
    pcr_volume: float | None
    max_pain: float | None
    iv_call_25d: float | None
    iv_put_25d: float | None
    risk_reversal_25d: float | None
    butterfly_25d: float | None
    data_age_seconds: float | None
    itm_reference: float | None
    """The price ITM is judged against: the spot, else the forward, else None."""


def _optional(value: float) -> float | None:
    return None if not math.isfinite(value) else float(value)


def _ages(ts: FloatArray, now: float) -> FloatArray:
    age: FloatArray = np.maximum(now - ts, 0.0)  # NaN stays NaN
    return age


def parity_forward(
    strikes: FloatArray, chain: ChainInput, ce_stale: BoolArray, pe_stale: BoolArray
) -> float | None:
    """The forward implied by put-call parity, F = K + e^(rT) (C - P), at the fresh two-sided
    strikes nearest the spot (their median); None without a spot or without such a strike."""
    if chain.spot is None:
        return None
    usable = (
        chain.ce.listed
        & chain.pe.listed
        & np.isfinite(chain.ce.price)
        & np.isfinite(chain.pe.price)
        & ~ce_stale
        & ~pe_stale
    )
    if not usable.any():
        return None
    candidates = np.flatnonzero(usable)
    nearest = candidates[np.argsort(np.abs(strikes[candidates] - chain.spot), kind="stable")]
    chosen = nearest[:PARITY_STRIKES]
    growth = math.exp(chain.rate * chain.years_to_expiry)
    implied = strikes[chosen] + growth * (chain.ce.price[chosen] - chain.pe.price[chosen])
    forward = float(np.median(implied))
    return forward if math.isfinite(forward) and forward > 0 else None


def nearest_strike_index(strikes: FloatArray, reference: float) -> int:
    """The strike nearest ``reference``; on an exact tie the lower strike."""
    return int(np.argmin(np.abs(strikes - reference)))


def max_pain(strikes: FloatArray, ce_oi: FloatArray, pe_oi: FloatArray) -> float | None:
    """The expiry price, among the strikes, that minimises what option writers pay holders:
    sum_K CE_OI(K) max(S - K, 0) + PE_OI(K) max(K - S, 0). Unknown OI adds nothing; None when
    no OI is known at all."""
    known_ce, known_pe = np.isfinite(ce_oi), np.isfinite(pe_oi)
    if not (known_ce.any() or known_pe.any()):
        return None
    ce = np.where(known_ce, ce_oi, 0.0)
    pe = np.where(known_pe, pe_oi, 0.0)
    settle = strikes[:, None]  # rows: candidate expiry prices; columns: the chain's strikes
    payout = (np.maximum(settle - strikes[None, :], 0.0) * ce[None, :]).sum(axis=1) + (
        np.maximum(strikes[None, :] - settle, 0.0) * pe[None, :]
    ).sum(axis=1)
    return float(strikes[int(np.argmin(payout))])


def ratio_of_sums(numerator: FloatArray, denominator: FloatArray) -> float | None:
    """sum(numerator) / sum(denominator) over known values; None if either has none or the
    denominator sums to 0."""
    top, bottom = np.isfinite(numerator), np.isfinite(denominator)
    if not top.any() or not bottom.any():
        return None
    total = float(denominator[bottom].sum())
    return float(numerator[top].sum()) / total if total > 0 else None


def iv_at_delta(delta: FloatArray, iv: FloatArray, target: float) -> float | None:
    """IV at ``target`` delta, linear in delta between the two priced points that bracket it;
    None when no priced point lies on one side of the target."""
    usable = np.isfinite(delta) & np.isfinite(iv)
    if not usable.any():
        return None
    d, v = delta[usable], iv[usable]
    if not (d.min() <= target <= d.max()):
        return None
    order = np.argsort(d, kind="stable")
    return float(np.interp(target, d[order], v[order]))


def _side(quotes: SideQuotes, *, now: float, stale_after: float, itm: BoolArray) -> SideAnalytics:
    age = _ages(quotes.ts, now)
    stale = ~np.isfinite(age) | (age > stale_after)
    spread: FloatArray = quotes.ask - quotes.bid
    oi_change: FloatArray = quotes.oi - quotes.oi_open
    priced = np.isfinite(quotes.iv) & np.isfinite(quotes.delta)
    return SideAnalytics(
        spread=spread,
        oi_change=oi_change,
        age_seconds=age,
        stale=stale,
        priced=priced & quotes.listed,
        itm=itm & quotes.listed,
    )


def _mean_known(*values: float) -> float | None:
    known = [v for v in values if math.isfinite(v)]
    return sum(known) / len(known) if known else None


def analyse_chain(chain: ChainInput) -> ChainAnalytics:
    """Every per-strike and chain-wide figure of docs/chain.md for one expiry."""
    strikes = chain.strikes
    now, stale_after = chain.now, chain.stale_after_seconds
    ce_age, pe_age = _ages(chain.ce.ts, now), _ages(chain.pe.ts, now)
    ce_stale = ~np.isfinite(ce_age) | (ce_age > stale_after)
    pe_stale = ~np.isfinite(pe_age) | (pe_age > stale_after)

    spot_age = None if chain.spot_ts is None else max(0.0, now - chain.spot_ts)
    spot_stale = chain.spot is None or spot_age is None or spot_age > stale_after

    forward = parity_forward(strikes, chain, ce_stale, pe_stale)
    source: ForwardSource | None = "parity" if forward is not None else None
    if forward is None and chain.spot is not None:
        forward, source = chain.spot, "spot"

    reference = chain.spot if chain.spot is not None else forward
    if reference is None:
        ce_itm = pe_itm = np.zeros(strikes.size, dtype=np.bool_)
    else:
        ce_itm, pe_itm = strikes < reference, strikes > reference
    ce = _side(chain.ce, now=now, stale_after=stale_after, itm=ce_itm)
    pe = _side(chain.pe, now=now, stale_after=stale_after, itm=pe_itm)

    atm_index = None if forward is None or strikes.size == 0 else nearest_strike_index(
        strikes, forward
    )  # fmt: skip
    atm_strike = atm_iv = straddle = implied_move = implied_move_1sd = None
    if atm_index is not None:
        atm_strike = float(strikes[atm_index])
        atm_iv = _mean_known(float(chain.ce.iv[atm_index]), float(chain.pe.iv[atm_index]))
        straddle = _optional(float(chain.ce.price[atm_index] + chain.pe.price[atm_index]))
        if straddle is not None and forward is not None:
            implied_move = straddle / forward
        if atm_iv is not None:
            implied_move_1sd = atm_iv * math.sqrt(max(chain.years_to_expiry, 0.0))

    ce_listed_oi = np.where(chain.ce.listed, chain.ce.oi, np.nan)
    pe_listed_oi = np.where(chain.pe.listed, chain.pe.oi, np.nan)
    iv_call = iv_at_delta(chain.ce.delta, chain.ce.iv, WING_DELTA)
    iv_put = iv_at_delta(chain.pe.delta, chain.pe.iv, -WING_DELTA)
    both_wings = iv_call is not None and iv_put is not None
    risk_reversal = iv_call - iv_put if iv_call is not None and iv_put is not None else None
    butterfly = (
        (iv_call + iv_put) / 2 - atm_iv
        if iv_call is not None and iv_put is not None and atm_iv is not None
        else None
    )
    ages = np.concatenate(
        [ce_age[chain.ce.listed], pe_age[chain.pe.listed]]
    )  # a side that is not listed has no tick
    known_ages = ages[np.isfinite(ages)]
    return ChainAnalytics(
        ce=ce,
        pe=pe,
        spot_age_seconds=spot_age,
        spot_stale=spot_stale,
        forward=forward,
        forward_source=source,
        atm_index=atm_index,
        atm_strike=atm_strike,
        atm_iv=atm_iv,
        straddle=straddle,
        implied_move=implied_move,
        implied_move_1sd=implied_move_1sd,
        pcr_oi=ratio_of_sums(pe_listed_oi, ce_listed_oi),
        pcr_volume=ratio_of_sums(
            np.where(chain.pe.listed, chain.pe.volume, np.nan),
            np.where(chain.ce.listed, chain.ce.volume, np.nan),
        ),
        max_pain=None if strikes.size == 0 else max_pain(strikes, ce_listed_oi, pe_listed_oi),
        iv_call_25d=iv_call,
        iv_put_25d=iv_put,
        risk_reversal_25d=risk_reversal if both_wings else None,
        butterfly_25d=butterfly,
        data_age_seconds=float(known_ages.min()) if known_ages.size else None,
        itm_reference=reference,
    )
