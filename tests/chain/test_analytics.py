"""The chain analytics against small chains worked by hand (plain values, no Django, no Redis)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from chain.analytics import ChainInput, SideQuotes, analyse_chain, iv_at_delta, max_pain

NOW = 1_800_000_000.0
STRIKES = [100.0, 110.0, 120.0, 130.0]
NAN = math.nan


def side(**values: list[float]) -> SideQuotes:
    """A side listed at every strike, fresh (ts = NOW - 1), with the given arrays."""
    quotes = SideQuotes.empty(len(STRIKES))
    quotes.listed[:] = True
    quotes.ts[:] = NOW - 1
    for name, array in values.items():
        getattr(quotes, name)[:] = array
    return quotes


# C - P = 12, 2, -8, -18: put-call parity (rate 0) says the forward is 112 at every strike.
def calls() -> SideQuotes:
    return side(
        price=[15.0, 6.0, 2.0, 0.5], oi=[100, 50, 20, 10], volume=[1, 2, 3, 4],
        delta=[0.8, 0.5, 0.3, 0.2], iv=[0.22, 0.20, 0.19, 0.185],
    )  # fmt: skip


def puts() -> SideQuotes:
    return side(
        price=[3.0, 4.0, 10.0, 18.5], oi=[10, 20, 200, 10], volume=[5, 5, 5, 5],
        delta=[-0.1, -0.3, -0.6, -0.85], iv=[0.26, 0.23, 0.21, 0.20],
    )  # fmt: skip


def chain(
    ce: SideQuotes | None = None,
    pe: SideQuotes | None = None,
    *,
    spot: float | None = 111.0,
    rate: float = 0.0,
    years: float = 0.1,
) -> ChainInput:
    return ChainInput(
        strikes=np.array(STRIKES), ce=ce or calls(), pe=pe or puts(), spot=spot,
        spot_ts=None if spot is None else NOW - 2, now=NOW, stale_after_seconds=5.0,
        years_to_expiry=years, rate=rate,
    )  # fmt: skip


def test_max_pain_and_pcr_by_hand() -> None:
    # Writers pay at expiry price S: sum CE_OI (S-K)+ + PE_OI (K-S)+
    #   S=100: 0 + 20*10 + 200*20 + 10*30 = 4500     S=110: 100*10 + 200*10 + 10*20 = 3200
    #   S=120: 100*20 + 50*10 + 10*10 = 2600         S=130: 100*30 + 50*20 + 20*10 = 4200
    result = analyse_chain(chain())
    assert result.max_pain == 120.0
    assert result.pcr_oi == pytest.approx(240 / 180)
    assert result.pcr_volume == pytest.approx(20 / 10)


def test_max_pain_ignores_unknown_oi_and_is_none_without_any() -> None:
    strikes = np.array(STRIKES)
    # Without the 200 puts at 120: S=100: 200+300=500, S=110: 1000+200=1200 -> 100 wins.
    assert max_pain(strikes, np.array([100, 50, 20, 10.0]), np.array([10, 20, NAN, 10])) == 100.0
    assert max_pain(strikes, np.full(4, NAN), np.full(4, NAN)) is None


def test_the_forward_comes_from_put_call_parity_and_sets_the_atm() -> None:
    result = analyse_chain(chain())
    assert result.forward_source == "parity"
    assert result.forward == pytest.approx(112.0)
    assert result.atm_strike == 110.0 and result.atm_index == 1
    assert result.straddle == pytest.approx(6.0 + 4.0)
    assert result.implied_move == pytest.approx(10.0 / 112.0)
    assert result.atm_iv == pytest.approx((0.20 + 0.23) / 2)
    assert result.implied_move_1sd == pytest.approx(0.215 * math.sqrt(0.1))


def test_parity_grows_the_price_difference_at_the_rate() -> None:
    # F = K + e^(rT) (C - P) at the three fresh two-sided strikes nearest the spot, median.
    result = analyse_chain(chain(rate=0.1, years=0.5))
    growth = math.exp(0.05)
    expected = float(np.median([110 + growth * 2, 120 - growth * 8, 100 + growth * 12]))
    assert result.forward == pytest.approx(expected)


@pytest.mark.parametrize(
    ("spot", "atm"),
    [(104.9, 100.0), (105.1, 110.0), (105.0, 100.0), (114.99, 110.0), (115.01, 120.0),
     (90.0, 100.0), (400.0, 130.0)],
)  # fmt: skip
def test_atm_is_the_strike_nearest_the_forward_on_either_side(spot: float, atm: float) -> None:
    # No put prices: parity cannot be read, the forward falls back to the spot.
    result = analyse_chain(chain(pe=side(oi=[1, 1, 1, 1]), spot=spot))
    assert result.forward_source == "spot" and result.forward == spot
    assert result.atm_strike == atm
    assert result.straddle is None  # the ATM put has no price
    assert result.implied_move is None


def test_itm_is_judged_against_the_spot() -> None:
    result = analyse_chain(chain(spot=111.0))
    assert result.ce.itm.tolist() == [True, True, False, False]
    assert result.pe.itm.tolist() == [False, False, True, True]


def test_25_delta_risk_reversal_and_butterfly_interpolate_iv_in_delta() -> None:
    # Call at 0.25: between 0.3 (0.19) and 0.2 (0.185) -> 0.1875.
    # Put at -0.25: between -0.3 (0.23) and -0.1 (0.26), a quarter of the way -> 0.2375.
    result = analyse_chain(chain())
    assert result.iv_call_25d == pytest.approx(0.1875)
    assert result.iv_put_25d == pytest.approx(0.2375)
    assert result.risk_reversal_25d == pytest.approx(-0.05)
    assert result.butterfly_25d == pytest.approx((0.1875 + 0.2375) / 2 - 0.215)


def test_wings_are_none_when_the_chain_does_not_bracket_25_delta() -> None:
    ce = calls()
    ce.delta[:] = [0.9, 0.8, 0.7, 0.6]
    result = analyse_chain(chain(ce=ce))
    assert result.iv_call_25d is None
    assert result.risk_reversal_25d is None and result.butterfly_25d is None
    assert result.iv_put_25d == pytest.approx(0.2375)
    assert iv_at_delta(np.array([0.3]), np.array([0.2]), 0.3) == pytest.approx(0.2)


def test_a_chain_where_every_iv_is_null() -> None:
    ce, pe = calls(), puts()
    for quotes in (ce, pe):
        quotes.iv[:] = NAN
        quotes.delta[:] = NAN
    result = analyse_chain(chain(ce=ce, pe=pe))
    assert result.atm_iv is None and result.implied_move_1sd is None
    assert result.iv_call_25d is None and result.iv_put_25d is None
    assert result.risk_reversal_25d is None and result.butterfly_25d is None
    assert not result.ce.priced.any() and not result.pe.priced.any()
    # Prices and OI still carry what they can.
    assert result.atm_strike == 110.0 and result.straddle == pytest.approx(10.0)
    assert result.max_pain == 120.0


def test_missing_sides_are_not_listed_and_count_for_nothing() -> None:
    pe = puts()
    pe.listed[2] = False  # no 120 put in the registry
    pe.oi[2] = NAN
    pe.price[2] = NAN
    result = analyse_chain(chain(pe=pe))
    assert result.pcr_oi == pytest.approx(40 / 180)
    assert not result.pe.priced[2] and not result.pe.itm[2]
    # Parity skips the one-sided strike: 110 and 100 (and 130) give 112 anyway.
    assert result.forward == pytest.approx(112.0)


def test_a_side_without_a_snapshot_is_stale_and_unpriced() -> None:
    ce = calls()
    for name in ("price", "oi", "volume", "iv", "delta", "ts"):
        getattr(ce, name)[3] = NAN
    result = analyse_chain(chain(ce=ce))
    assert result.ce.stale[3] and not result.ce.priced[3]
    assert math.isnan(result.ce.age_seconds[3]) and math.isnan(result.ce.oi_change[3])
    assert not result.ce.stale[:3].any()


def test_stale_ticks_are_flagged_and_kept_out_of_parity() -> None:
    ce, pe = calls(), puts()
    ce.ts[:] = NOW - 60
    result = analyse_chain(chain(ce=ce, pe=pe))
    assert result.ce.stale.all() and not result.pe.stale.any()
    assert result.ce.age_seconds.tolist() == [60.0] * 4
    assert result.forward_source == "spot" and result.forward == 111.0
    # Still shown and still used where no freshness is needed.
    assert result.straddle == pytest.approx(10.0) and result.pcr_oi == pytest.approx(240 / 180)
    assert result.data_age_seconds == pytest.approx(1.0)


def test_a_stale_or_missing_spot() -> None:
    stale = chain()
    stale = ChainInput(**{**stale.__dict__, "spot_ts": NOW - 30})
    result = analyse_chain(stale)
    assert result.spot_stale and result.spot_age_seconds == pytest.approx(30.0)
    no_spot = analyse_chain(chain(spot=None))
    assert no_spot.forward is None and no_spot.atm_strike is None and no_spot.atm_index is None
    assert no_spot.itm_reference is None and not no_spot.ce.itm.any()
    assert no_spot.spot_stale and no_spot.straddle is None


def test_oi_change_and_spread() -> None:
    ce = calls()
    ce.oi_open[:] = [90, 50, NAN, 0]
    ce.bid[:] = [14.5, NAN, 1.9, 0.45]
    ce.ask[:] = [15.5, 6.1, NAN, 0.55]
    result = analyse_chain(chain(ce=ce))
    assert result.ce.oi_change[[0, 1, 3]].tolist() == [10.0, 0.0, 10.0]
    assert math.isnan(result.ce.oi_change[2])
    assert result.ce.spread[[0, 3]] == pytest.approx([1.0, 0.1])
    assert np.isnan(result.ce.spread[[1, 2]]).all()
