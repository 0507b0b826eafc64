"""Reads for the option chain: the registry (PostgreSQL) and the published snapshots (Redis).

The chain of one underlying and expiry is its options with an active subscription (what the
fleet streams), not expired, expiring at or after now (15:30 IST on the expiry date). Its
snapshots come from ``{prefix}:latest`` with one pipelined round trip (HMGET of the chain's
tokens and the index token, HMGET of the session's first-seen OI); the first time in a session
that a token shows an OI, a second round trip records it with HSETNX (docs/chain.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final

import numpy as np
import redis
from django.db.models import QuerySet

from chain.analytics import ChainAnalytics, ChainInput, SideQuotes, analyse_chain
from contract.names import chain_oi_open_key, latest_key
from contract.snapshot import OptionSnapshot, option_snapshot
from greeks.expiry_time import IST, calendar_years_to_expiry, expiry_close_epoch
from subscriptions.models import Instrument, SubscriptionStatus, Underlying

OI_OPEN_TTL_SECONDS: Final = 3 * 86400
OPTION_TYPES: Final = ("CE", "PE")


class ChainQueryError(ValueError):
    """An unknown underlying or expiry (the API answers 400 with the message)."""


@dataclass(frozen=True, slots=True)
class OptionRow:
    token: int
    tradingsymbol: str
    strike: float
    expiry: date
    is_call: bool


@dataclass(frozen=True, slots=True)
class ChainSettings:
    prefix: str
    stale_after_seconds: float
    rate: float


@dataclass(frozen=True)
class Chain:
    """One expiry's chain: the registry's rows, the analytics' input and result."""

    underlying: str
    expiry: date
    expiries: tuple[date, ...]
    now: float
    ce_rows: tuple[OptionRow | None, ...]
    pe_rows: tuple[OptionRow | None, ...]
    data: ChainInput
    result: ChainAnalytics
    oi_open_since: str


@dataclass(frozen=True, slots=True)
class TermPoint:
    expiry: date
    days_to_expiry: float
    atm_strike: float | None
    atm_iv: float | None
    forward: float | None


def session_date(now: float) -> str:
    """The trading session a time belongs to: its date in Asia/Kolkata (ISO)."""
    return datetime.fromtimestamp(now, tz=UTC).astimezone(IST).date().isoformat()


def underlying_index_token(name: str) -> int:
    found = Underlying.objects.filter(name=name).values_list("index_token", flat=True).first()
    if found is None:
        known = ", ".join(Underlying.objects.order_by("name").values_list("name", flat=True))
        raise ChainQueryError(f"unknown underlying {name!r} (known: {known or 'none'})")
    return int(found)


def _live_options(name: str, now: float) -> QuerySet[Instrument]:
    today = datetime.fromtimestamp(now, tz=UTC).astimezone(IST).date()
    return Instrument.objects.filter(
        name=name,
        instrument_type__in=OPTION_TYPES,
        is_expired=False,
        expiry__gte=today,
        subscription__status=SubscriptionStatus.ACTIVE,
    )


def live_expiries(name: str, now: float) -> tuple[date, ...]:
    """The underlying's expiries with live, subscribed options, nearest first."""
    found = _live_options(name, now).order_by("expiry").values_list("expiry", flat=True).distinct()
    return tuple(e for e in found if e is not None and expiry_close_epoch(e) > now)


def _rows(name: str, now: float, expiries: Sequence[date]) -> list[OptionRow]:
    found = (
        _live_options(name, now)
        .filter(expiry__in=list(expiries))
        .order_by("expiry", "strike", "instrument_type")
        .values_list("instrument_token", "tradingsymbol", "strike", "expiry", "instrument_type")
    )
    return [
        OptionRow(int(token), symbol, float(strike), expiry, kind == "CE")
        for token, symbol, strike, expiry, kind in found
        if expiry is not None  # always, by the filter; for the type
    ]


def _put(side: SideQuotes, index: int, row: OptionRow, snap: OptionSnapshot | None) -> None:
    side.listed[index] = True
    if snap is None:
        return
    for array, value in (
        (side.price, snap.price), (side.ts, snap.ts), (side.bid, snap.bid), (side.ask, snap.ask),
        (side.volume, snap.numbers["volume"]), (side.oi, snap.numbers["oi"]),
        (side.iv, snap.numbers["iv"]), (side.delta, snap.numbers["delta"]),
        (side.gamma, snap.numbers["gamma"]), (side.theta, snap.numbers["theta"]),
        (side.vega, snap.numbers["vega"]),
    ):  # fmt: skip
        if value is not None:
            array[index] = value


def _assemble(
    rows: Sequence[OptionRow],
    snapshots: dict[int, OptionSnapshot | None],
    oi_open: dict[int, float],
) -> tuple[np.ndarray, SideQuotes, SideQuotes, list[OptionRow | None], list[OptionRow | None]]:
    strikes = np.array(sorted({row.strike for row in rows}), dtype=np.float64)
    position = {strike: i for i, strike in enumerate(strikes.tolist())}
    ce, pe = SideQuotes.empty(strikes.size), SideQuotes.empty(strikes.size)
    ce_rows: list[OptionRow | None] = [None] * strikes.size
    pe_rows: list[OptionRow | None] = [None] * strikes.size
    for row in rows:
        i = position[row.strike]
        side, side_rows = (ce, ce_rows) if row.is_call else (pe, pe_rows)
        side_rows[i] = row
        _put(side, i, row, snapshots.get(row.token))
        if row.token in oi_open:
            side.oi_open[i] = oi_open[row.token]
    return strikes, ce, pe, ce_rows, pe_rows


def _index_price(raw: bytes | str | None) -> tuple[float | None, float | None]:
    snap = option_snapshot(raw)
    if snap is None:
        return None, None
    return snap.price, snap.ts


def _read_chain(
    client: redis.Redis, *, settings: ChainSettings, tokens: list[int], index_token: int, now: float
) -> tuple[dict[int, OptionSnapshot | None], tuple[float | None, float | None], dict[int, float]]:
    """One round trip; a second only to record first-seen OIs (the session's first reads)."""
    fields = [str(t) for t in tokens]
    oi_key = chain_oi_open_key(settings.prefix, session_date(now))
    pipe = client.pipeline(transaction=False)
    pipe.hmget(latest_key(settings.prefix), [*fields, str(index_token)])
    pipe.hmget(oi_key, fields)
    latest, opens = pipe.execute()
    snapshots = {t: option_snapshot(raw) for t, raw in zip(tokens, latest, strict=False)}
    oi_open: dict[int, float] = {}
    first_seen: dict[str, int] = {}
    for token, raw in zip(tokens, opens, strict=True):
        if raw is not None:
            value = stored_oi(raw)
            if value is not None:
                oi_open[token] = value
                continue
        snap = snapshots[token]
        oi = None if snap is None else snap.numbers["oi"]
        if oi is not None and oi >= 0:
            first_seen[str(token)] = int(oi)
            oi_open[token] = float(int(oi))
    if first_seen:
        write = client.pipeline(transaction=False)
        for field, oi in first_seen.items():
            write.hsetnx(oi_key, field, oi)
        write.expire(oi_key, OI_OPEN_TTL_SECONDS)
        write.execute()
    return snapshots, _index_price(latest[-1]), oi_open


def stored_oi(raw: bytes | str) -> float | None:
    """A first-seen OI as written by ``_read_chain`` (a non-negative integer), else None."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    return float(text) if text.isdigit() else None


def _years(expiry: date, now: float) -> float:
    return float(calendar_years_to_expiry(now, expiry_close_epoch(expiry)))


def read_chain(
    client: redis.Redis,
    *,
    underlying: str,
    expiry: date | None,
    settings: ChainSettings,
    now: float,
) -> Chain:
    """The chain of ``underlying`` at ``expiry`` (default: the nearest live one)."""
    index_token = underlying_index_token(underlying)
    expiries = live_expiries(underlying, now)
    if expiry is None:
        if not expiries:
            raise ChainQueryError(f"{underlying} has no live (subscribed) expiries")
        expiry = expiries[0]
    elif expiry not in expiries:
        listed = ", ".join(e.isoformat() for e in expiries) or "none"
        raise ChainQueryError(
            f"unknown expiry {expiry.isoformat()} for {underlying} (live: {listed})"
        )
    rows = _rows(underlying, now, [expiry])
    snapshots, (spot, spot_ts), oi_open = _read_chain(
        client, settings=settings, tokens=[r.token for r in rows], index_token=index_token,
        now=now,
    )  # fmt: skip
    strikes, ce, pe, ce_rows, pe_rows = _assemble(rows, snapshots, oi_open)
    data = ChainInput(
        strikes=strikes, ce=ce, pe=pe, spot=spot, spot_ts=spot_ts, now=now,
        stale_after_seconds=settings.stale_after_seconds,
        years_to_expiry=_years(expiry, now), rate=settings.rate,
    )  # fmt: skip
    return Chain(
        underlying=underlying,
        expiry=expiry,
        expiries=expiries,
        now=now,
        ce_rows=tuple(ce_rows),
        pe_rows=tuple(pe_rows),
        data=data,
        result=analyse_chain(data),
        oi_open_since=session_date(now),
    )


def read_term_structure(
    client: redis.Redis, *, underlying: str, settings: ChainSettings, now: float
) -> list[TermPoint]:
    """ATM IV per live expiry, from one HMGET over every live option of the underlying."""
    index_token = underlying_index_token(underlying)
    expiries = live_expiries(underlying, now)
    rows = _rows(underlying, now, expiries)
    fields = [str(r.token) for r in rows]
    latest = client.hmget(latest_key(settings.prefix), [*fields, str(index_token)])
    snapshots = {r.token: option_snapshot(raw) for r, raw in zip(rows, latest, strict=False)}
    spot, spot_ts = _index_price(latest[-1])
    points = []
    for expiry in expiries:
        strikes, ce, pe, _, _ = _assemble([r for r in rows if r.expiry == expiry], snapshots, {})
        years = _years(expiry, now)
        data = ChainInput(
            strikes=strikes, ce=ce, pe=pe, spot=spot, spot_ts=spot_ts, now=now,
            stale_after_seconds=settings.stale_after_seconds, years_to_expiry=years,
            rate=settings.rate,
        )  # fmt: skip
        result = analyse_chain(data)
        points.append(
            TermPoint(
                expiry=expiry,
                days_to_expiry=years * 365.0,
                atm_strike=result.atm_strike,
                atm_iv=result.atm_iv,
                forward=result.forward,
            )
        )
    return points
