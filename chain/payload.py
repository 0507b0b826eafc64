"""The chain API's JSON (agreed with the chain page: /work/lead/chain-json.md, docs/chain.md).

Plain dicts from the analytics' arrays: NaN becomes ``null``, never 0.
"""

from __future__ import annotations

from math import isnan
from typing import Any

from chain.analytics import SideAnalytics, SideQuotes
from chain.selectors import Chain, OptionRow, TermPoint


def _values(array: Any, digits: int | None = None) -> list[float | None]:
    """A float column as a list, NaN -> None (optionally rounded)."""
    if digits is None:
        return [None if isnan(v) else v for v in array.tolist()]
    return [None if isnan(v) else round(v, digits) for v in array.tolist()]


def _counts(array: Any) -> list[int | None]:
    return [None if isnan(v) else int(v) for v in array.tolist()]


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def _sides(
    rows: tuple[OptionRow | None, ...],
    quotes: SideQuotes,
    derived: SideAnalytics,
    itm_known: bool,
    window: range,
) -> list[dict[str, Any] | None]:
    """Each strike's side as the API's SIDE object (None where the side is not listed).

    Columns are cut to the window first and zipped: one dict display per side, no look-ups
    by name in the loop (400 sides per 200-strike chain).
    """
    cut = slice(window.start, window.stop)
    itm = derived.itm[cut].tolist() if itm_known else [None] * len(window)
    columns = zip(
        rows[cut], _values(quotes.price[cut]), _values(quotes.bid[cut]),
        _values(quotes.ask[cut]), _values(derived.spread[cut], 4),  # no noise: 0.1, not 0.0999
        _counts(quotes.volume[cut]), _counts(quotes.oi[cut]), _counts(derived.oi_change[cut]),
        _values(quotes.iv[cut]), _values(quotes.delta[cut]), _values(quotes.gamma[cut]),
        _values(quotes.theta[cut]), _values(quotes.vega[cut]),
        _values(derived.age_seconds[cut], 3), derived.stale[cut].tolist(),
        derived.priced[cut].tolist(), itm, strict=True,
    )  # fmt: skip
    return [
        None if row is None else {
            "instrument_token": row.token, "tradingsymbol": row.tradingsymbol,
            "last_price": last_price, "bid": bid, "ask": ask, "spread": spread,
            "volume": volume, "oi": oi, "oi_change": oi_change, "iv": iv, "delta": delta,
            "gamma": gamma, "theta": theta, "vega": vega, "age_seconds": age_seconds,
            "stale": stale, "priced": priced, "itm": in_the_money,
        }
        for (
            row, last_price, bid, ask, spread, volume, oi, oi_change, iv, delta, gamma, theta,
            vega, age_seconds, stale, priced, in_the_money,
        ) in columns
    ]  # fmt: skip


def window(chain: Chain, strikes_each_side: int | None) -> range:
    """Row indices: all, or ``strikes_each_side`` either side of ATM (all when ATM unknown)."""
    size = chain.data.strikes.size
    atm = chain.result.atm_index
    if strikes_each_side is None or atm is None:
        return range(size)
    return range(max(0, atm - strikes_each_side), min(size, atm + strikes_each_side + 1))


def chain_payload(
    chain: Chain, *, strikes_each_side: int | None, stale_after: float
) -> dict[str, Any]:
    data, result = chain.data, chain.result
    itm_known = result.itm_reference is not None
    strikes = data.strikes.tolist()
    shown = window(chain, strikes_each_side)
    ce = _sides(chain.ce_rows, data.ce, result.ce, itm_known, shown)
    pe = _sides(chain.pe_rows, data.pe, result.pe, itm_known, shown)
    rows = [
        {"strike": strikes[i], "is_atm": i == result.atm_index, "ce": c, "pe": p}
        for i, c, p in zip(shown, ce, pe, strict=True)
    ]
    return {
        "underlying": chain.underlying,
        "expiry": chain.expiry.isoformat(),
        "expiries": [e.isoformat() for e in chain.expiries],
        "as_of": round(chain.now, 3),
        "spot": {
            "price": data.spot,
            "age_seconds": _round(result.spot_age_seconds),
            "stale": result.spot_stale,
        },
        "forward": result.forward,
        "forward_source": result.forward_source,
        "atm_strike": result.atm_strike,
        "atm_iv": result.atm_iv,
        "straddle": _round(result.straddle, 4),
        "implied_move": result.implied_move,
        "implied_move_1sd": result.implied_move_1sd,
        "days_to_expiry": round(data.years_to_expiry * 365.0, 4),
        "pcr_oi": result.pcr_oi,
        "pcr_volume": result.pcr_volume,
        "max_pain": result.max_pain,
        "iv_call_25d": result.iv_call_25d,
        "iv_put_25d": result.iv_put_25d,
        "risk_reversal_25d": result.risk_reversal_25d,
        "butterfly_25d": result.butterfly_25d,
        "data_age_seconds": _round(result.data_age_seconds),
        "oi_change_since": chain.oi_open_since,
        "stale_after_seconds": stale_after,
        "rows": rows,
    }


def term_payload(underlying: str, now: float, points: list[TermPoint]) -> dict[str, Any]:
    return {
        "underlying": underlying,
        "as_of": round(now, 3),
        "points": [
            {
                "expiry": p.expiry.isoformat(),
                "days_to_expiry": round(p.days_to_expiry, 4),
                "atm_strike": p.atm_strike,
                "atm_iv": p.atm_iv,
                "forward": p.forward,
            }
            for p in points
        ],
    }
