"""Reads for the option chain: the registry (PostgreSQL) and the published snapshots (Redis).

The chain of one underlying and expiry is its options with an active subscription (what the
fleet streams), not expired, expiring at or after now (15:30 IST on the expiry date). Its
snapshots come from ``{prefix}:latest`` with one pipelined round trip (HMGET of the chain's
tokens and the index token, HMGET of the session's first-seen OI); the first time in a session
that a token shows an OI, a second round trip records it with HSETNX (docs/chain.md).

The registry part (index token, live expiries, the expiry's rows) comes from
``chain.registry``, through the process's ``RegistryCache`` when one is passed: then the
registry version is read in the same round trip as the snapshots, and a changed version
rebuilds the layout and reads again.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final

import numpy as np
import redis
from numpy.typing import NDArray

from chain.analytics import ChainAnalytics, ChainInput, FloatArray, SideQuotes, analyse_chain
from chain.columns import snapshot_columns
from chain.registry import (
    CachedLayout,
    ChainLayout,
    ChainQueryError,
    OptionRow,
    RegistryCache,
    SidePlaces,
    current_version,
    first_live_expiry_date,
    live_expiries,
    load_layout,
    option_rows,
    strike_layout,
    underlying_index_token,
    version_text,
)
from contract.messages import PRICE, RECEIVED_AT, TS
from contract.names import chain_oi_open_key, latest_key, registry_version_key
from contract.snapshot import CHAIN_NUMBER_FIELDS
from greeks.expiry_time import IST, calendar_years_to_expiry, expiry_close_epoch

OI_OPEN_TTL_SECONDS: Final = 3 * 86400

__all__ = [
    "Chain",
    "ChainQueryError",
    "ChainSettings",
    "OptionRow",
    "RegistryCache",
    "TermPoint",
    "first_live_expiry_date",
    "read_chain",
    "read_term_structure",
    "session_date",
]


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


@dataclass(frozen=True)
class Snapshots:
    """The chain's snapshot columns (``chain.columns``), one entry per option row."""

    columns: dict[str, FloatArray]
    oi_open: FloatArray
    spot: float | None
    spot_ts: float | None


# SideQuotes fields filled from the snapshot columns of the same name.
_SIDE_COLUMNS: Final = (PRICE, TS, "bid", "ask", *CHAIN_NUMBER_FIELDS)


def _side(
    places: SidePlaces, size: int, snapshots: Snapshots, positions: NDArray[np.intp] | None
) -> SideQuotes:
    """One side on ``size`` strikes; ``positions`` maps row indices to snapshot indices."""
    side = SideQuotes.empty(size)
    where = places.strike_index
    source = places.row_index if positions is None else positions[places.row_index]
    side.listed[where] = True
    for name in _SIDE_COLUMNS:
        getattr(side, name)[where] = snapshots.columns[name][source]
    side.oi_open[where] = snapshots.oi_open[source]
    return side


def stored_ois(raws: Sequence[bytes | str | None]) -> FloatArray:
    """First-seen OIs as written by ``_record_first_seen`` (non-negative integers), NaN for
    anything else, as one array (one value per option of the chain)."""
    nan = math.nan
    return np.array(
        [nan if raw is None or not raw.isdigit() else float(raw) for raw in raws],
        dtype=np.float64,
    )


def _split_index(
    latest: Sequence[bytes | str | None], opens: Sequence[bytes | str | None] | None
) -> Snapshots:
    columns = snapshot_columns(latest)  # the chain's tokens, then the index token
    # Ages count from when the worker received the tick (our clock), not from the exchange's
    # ts (another clock: the simulator's virtual session in the demo); ts for older snapshots.
    received = columns[RECEIVED_AT]
    columns["ts"] = np.where(np.isfinite(received), received, columns["ts"])
    spot, spot_ts = columns["price"][-1], columns["ts"][-1]
    chain_columns = {name: column[:-1] for name, column in columns.items()}
    size = len(latest) - 1
    oi_open = np.full(size, np.nan) if opens is None else stored_ois(opens)
    return Snapshots(
        columns=chain_columns,
        oi_open=oi_open,
        spot=float(spot) if np.isfinite(spot) else None,
        spot_ts=float(spot_ts) if np.isfinite(spot_ts) else None,
    )


def _record_first_seen(
    client: redis.Redis, oi_key: str, fields: Sequence[str], snapshots: Snapshots
) -> None:
    """Baselines for tokens that show an OI and have none yet: a second round trip, only the
    session's first reads of them (docs/chain.md); ``snapshots.oi_open`` is filled in place."""
    oi, oi_open = snapshots.columns["oi"], snapshots.oi_open
    first_seen = np.flatnonzero(np.isnan(oi_open) & (oi >= 0))
    if not first_seen.size:
        return
    oi_open[first_seen] = oi[first_seen]
    write = client.pipeline(transaction=False)
    for i in first_seen.tolist():
        write.hsetnx(oi_key, fields[i], int(oi[i]))
    write.expire(oi_key, OI_OPEN_TTL_SECONDS)
    write.execute()


Raw = bytes | str | None


def _read_snapshots(
    client: redis.Redis, prefix: str, layout: ChainLayout, oi_key: str, *, version: bool = False
) -> tuple[Raw, list[Raw], list[Raw]]:
    """The layout's snapshots and OI baselines in one round trip; with ``version``, the
    registry version too (else None in its place)."""
    pipe = client.pipeline(transaction=False)
    if version:
        pipe.get(registry_version_key(prefix))
    pipe.hmget(latest_key(prefix), layout.fields)
    pipe.hmget(oi_key, layout.fields[:-1])
    replies = pipe.execute()
    return (replies[0] if version else None), replies[-2], replies[-1]


def _layout_and_snapshots(
    client: redis.Redis,
    *,
    underlying: str,
    expiry: date | None,
    prefix: str,
    oi_key: str,
    now: float,
    cache: RegistryCache | None,
) -> tuple[ChainLayout, list[Raw], list[Raw]]:
    """The layout (cached when it may be) and its snapshots and baselines: one round trip
    when the cached layout's version is current, else the version, the queries and a read."""
    if cache is None:
        layout = load_layout(underlying, expiry, now)
        return layout, *_read_snapshots(client, prefix, layout, oi_key)[1:]
    key = RegistryCache.key(prefix, underlying, expiry, now)
    cached = cache.get(key, now=now)
    if cached is not None:
        version, latest, opens = _read_snapshots(
            client, prefix, cached.layout, oi_key, version=True
        )
        if version_text(version) == cached.version:
            return cached.layout, latest, opens
        cache.discard(key)
    # The version is read before the queries: a change committed after this read has written
    # a newer version, so the entry built here is rebuilt on the next request.
    current = current_version(client, prefix)
    layout = load_layout(underlying, expiry, now)
    cache.put(key, CachedLayout(layout=layout, version=current, built_at=now))
    return layout, *_read_snapshots(client, prefix, layout, oi_key)[1:]


def _years(expiry: date, now: float) -> float:
    return float(calendar_years_to_expiry(now, expiry_close_epoch(expiry)))


def read_chain(
    client: redis.Redis,
    *,
    underlying: str,
    expiry: date | None,
    settings: ChainSettings,
    now: float,
    cache: RegistryCache | None = None,
) -> Chain:
    """The chain of ``underlying`` at ``expiry`` (default: the nearest live one).

    With ``cache`` the registry part may come from it (``chain.registry``); without, it is
    queried.
    """
    oi_key = chain_oi_open_key(settings.prefix, session_date(now))
    layout, latest, opens = _layout_and_snapshots(
        client, underlying=underlying, expiry=expiry, prefix=settings.prefix, oi_key=oi_key,
        now=now, cache=cache,
    )  # fmt: skip
    snapshots = _split_index(latest, opens)
    _record_first_seen(client, oi_key, layout.fields, snapshots)
    size = layout.strikes.size
    data = ChainInput(
        strikes=layout.strikes, ce=_side(layout.ce, size, snapshots, None),
        pe=_side(layout.pe, size, snapshots, None), spot=snapshots.spot,
        spot_ts=snapshots.spot_ts, now=now, stale_after_seconds=settings.stale_after_seconds,
        years_to_expiry=_years(layout.expiry, now), rate=settings.rate,
    )  # fmt: skip
    return Chain(
        underlying=underlying,
        expiry=layout.expiry,
        expiries=layout.expiries,
        now=now,
        ce_rows=layout.ce_rows,
        pe_rows=layout.pe_rows,
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
    rows = option_rows(underlying, now, expiries)
    fields = [str(r.token) for r in rows]
    latest = client.hmget(latest_key(settings.prefix), [*fields, str(index_token)])
    snapshots = _split_index(latest, None)
    spot, spot_ts = snapshots.spot, snapshots.spot_ts
    expiry_of = np.array([r.expiry.toordinal() for r in rows], dtype=np.int64)
    points = []
    for expiry in expiries:
        chosen = np.flatnonzero(expiry_of == expiry.toordinal())
        strikes, ce, pe, _, _ = strike_layout([rows[i] for i in chosen.tolist()])
        years = _years(expiry, now)
        data = ChainInput(
            strikes=strikes, ce=_side(ce, strikes.size, snapshots, chosen),
            pe=_side(pe, strikes.size, snapshots, chosen), spot=spot, spot_ts=spot_ts, now=now,
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
