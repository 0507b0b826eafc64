"""The chain API's JSON (agreed with the chain page: /work/lead/chain-json.md, docs/chain.md).

Plain dicts from the analytics' arrays: NaN becomes ``null``, never 0.
"""

from __future__ import annotations

import math
from typing import Any

from chain.analytics import SideAnalytics, SideQuotes
from chain.selectors import Chain, OptionRow, TermPoint


def _value(array: Any, index: int) -> float | None:
    number = float(array[index])
    return number if math.isfinite(number) else None


def _count(array: Any, index: int) -> int | None:
    number = float(array[index])
    return int(number) if math.isfinite(number) else None


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def _side(
    row: OptionRow | None, quotes: SideQuotes, derived: SideAnalytics, i: int, itm_known: bool
) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "instrument_token": row.token,
        "tradingsymbol": row.tradingsymbol,
        "last_price": _value(quotes.price, i),
        "bid": _value(quotes.bid, i),
        "ask": _value(quotes.ask, i),
        "spread": _value(derived.spread, i),
        "volume": _count(quotes.volume, i),
        "oi": _count(quotes.oi, i),
        "oi_change": _count(derived.oi_change, i),
        "iv": _value(quotes.iv, i),
        "delta": _value(quotes.delta, i),
        "gamma": _value(quotes.gamma, i),
        "theta": _value(quotes.theta, i),
        "vega": _value(quotes.vega, i),
        "age_seconds": _round(_value(derived.age_seconds, i)),
        "stale": bool(derived.stale[i]),
        "priced": bool(derived.priced[i]),
        "itm": bool(derived.itm[i]) if itm_known else None,
    }


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
    rows = [
        {
            "strike": strikes[i],
            "is_atm": i == result.atm_index,
            "ce": _side(chain.ce_rows[i], data.ce, result.ce, i, itm_known),
            "pe": _side(chain.pe_rows[i], data.pe, result.pe, i, itm_known),
        }
        for i in window(chain, strikes_each_side)
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
        "straddle": result.straddle,
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
