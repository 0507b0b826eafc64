"""Reads for the option chain: the registry (PostgreSQL) and the published snapshots (Redis).

The chain of one underlying and expiry is its options with an active subscription (what the
fleet streams), not expired, expiring at or after now (15:30 IST on the expiry date). Its
snapshots come from ``{prefix}:latest`` with one pipelined round trip (HMGET of the chain's
tokens and the index token, HMGET of the session's first-seen OI); the first time in a session
that a token shows an OI, a second round trip records it with HSETNX (docs/chain.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final

import numpy as np
import redis
from django.db.models import QuerySet
from numpy.typing import NDArray

from chain.analytics import ChainAnalytics, ChainInput, FloatArray, SideQuotes, analyse_chain
from chain.columns import snapshot_columns
from contract.messages import RECEIVED_AT
from contract.names import chain_oi_open_key, latest_key
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


def first_live_expiry_date(now: float) -> date:
    """The earliest expiry date not yet closed at ``now``: today until 15:30 IST, then tomorrow."""
    today = datetime.fromtimestamp(now, tz=UTC).astimezone(IST).date()
    return today if expiry_close_epoch(today) > now else today + timedelta(days=1)


def _live_options(name: str, now: float) -> QuerySet[Instrument]:
    return Instrument.objects.filter(
        name=name,
        instrument_type__in=OPTION_TYPES,
        is_expired=False,
        expiry__gte=first_live_expiry_date(now),
        subscription__status=SubscriptionStatus.ACTIVE,
    )


def live_expiries(name: str, now: float) -> tuple[date, ...]:
    """The underlying's expiries with live, subscribed options, nearest first."""
    found = _live_options(name, now).order_by("expiry").values_list("expiry", flat=True).distinct()
    return tuple(e for e in found if e is not None)


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


@dataclass(frozen=True)
class Snapshots:
    """The chain's snapshot columns (``chain.columns``), one entry per token of ``tokens``."""

    tokens: list[int]
    columns: dict[str, FloatArray]
    oi_open: FloatArray
    spot: float | None
    spot_ts: float | None


_SIDE_COLUMNS: Final = (
    ("price", "price"), ("ts", "ts"), ("bid", "bid"), ("ask", "ask"), ("volume", "volume"),
    ("oi", "oi"), ("iv", "iv"), ("delta", "delta"), ("gamma", "gamma"), ("theta", "theta"),
    ("vega", "vega"),
)  # fmt: skip


def _assemble(
    rows: Sequence[OptionRow], snapshots: Snapshots, row_positions: NDArray[np.intp]
) -> tuple[FloatArray, SideQuotes, SideQuotes, list[OptionRow | None], list[OptionRow | None]]:
    """Both sides on the distinct strikes; ``row_positions``: each row's index in snapshots."""
    strikes = np.unique(np.array([row.strike for row in rows], dtype=np.float64))
    at = np.searchsorted(strikes, [row.strike for row in rows])
    is_call = np.array([row.is_call for row in rows], dtype=np.bool_)
    ce, pe = SideQuotes.empty(strikes.size), SideQuotes.empty(strikes.size)
    ce_rows: list[OptionRow | None] = [None] * strikes.size
    pe_rows: list[OptionRow | None] = [None] * strikes.size
    for row, i in zip(rows, at.tolist(), strict=True):
        (ce_rows if row.is_call else pe_rows)[i] = row
    for side, mask in ((ce, is_call), (pe, ~is_call)):
        where, source = at[mask], row_positions[mask]
        side.listed[where] = True
        for field, column in _SIDE_COLUMNS:
            getattr(side, field)[where] = snapshots.columns[column][source]
        side.oi_open[where] = snapshots.oi_open[source]
    return strikes, ce, pe, ce_rows, pe_rows


def _split_index(
    tokens: list[int],
    latest: Sequence[bytes | str | None],
    opens: Sequence[bytes | str | None] | None,
) -> Snapshots:
    columns = snapshot_columns(latest)  # the chain's tokens, then the index token
    # Ages count from when the worker received the tick (our clock), not from the exchange's
    # ts (another clock: the simulator's virtual session in the demo); ts for older snapshots.
    received = columns[RECEIVED_AT]
    columns["ts"] = np.where(np.isfinite(received), received, columns["ts"])
    spot, spot_ts = columns["price"][-1], columns["ts"][-1]
    chain_columns = {name: column[:-1] for name, column in columns.items()}
    oi_open = np.full(len(tokens), np.nan)
    if opens is not None:
        oi_open[:] = [stored_oi(raw) for raw in opens]
    return Snapshots(
        tokens=tokens,
        columns=chain_columns,
        oi_open=oi_open,
        spot=float(spot) if np.isfinite(spot) else None,
        spot_ts=float(spot_ts) if np.isfinite(spot_ts) else None,
    )


def _read_chain(
    client: redis.Redis, *, settings: ChainSettings, tokens: list[int], index_token: int, now: float
) -> Snapshots:
    """One round trip; a second only to record first-seen OIs (the session's first reads)."""
    fields = [str(t) for t in tokens]
    oi_key = chain_oi_open_key(settings.prefix, session_date(now))
    pipe = client.pipeline(transaction=False)
    pipe.hmget(latest_key(settings.prefix), [*fields, str(index_token)])
    pipe.hmget(oi_key, fields)
    latest, opens = pipe.execute()
    snapshots = _split_index(tokens, latest, opens)
    oi, oi_open = snapshots.columns["oi"], snapshots.oi_open
    first_seen = np.flatnonzero(np.isnan(oi_open) & (oi >= 0))
    if first_seen.size:
        oi_open[first_seen] = oi[first_seen]
        write = client.pipeline(transaction=False)
        for i in first_seen.tolist():
            write.hsetnx(oi_key, fields[i], int(oi[i]))
        write.expire(oi_key, OI_OPEN_TTL_SECONDS)
        write.execute()
    return snapshots


def stored_oi(raw: bytes | str | None) -> float:
    """A first-seen OI as written by ``_read_chain`` (a non-negative integer), else NaN."""
    if raw is None:
        return math.nan
    text = raw.decode() if isinstance(raw, bytes) else raw
    return float(text) if text.isdigit() else math.nan


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
    snapshots = _read_chain(
        client, settings=settings, tokens=[r.token for r in rows], index_token=index_token,
        now=now,
    )  # fmt: skip
    strikes, ce, pe, ce_rows, pe_rows = _assemble(rows, snapshots, np.arange(len(rows)))
    data = ChainInput(
        strikes=strikes, ce=ce, pe=pe, spot=snapshots.spot, spot_ts=snapshots.spot_ts, now=now,
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
    snapshots = _split_index([r.token for r in rows], latest, None)
    spot, spot_ts = snapshots.spot, snapshots.spot_ts
    expiry_of = np.array([r.expiry.toordinal() for r in rows], dtype=np.int64)
    points = []
    for expiry in expiries:
        chosen = np.flatnonzero(expiry_of == expiry.toordinal())
        strikes, ce, pe, _, _ = _assemble([rows[i] for i in chosen.tolist()], snapshots, chosen)
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
