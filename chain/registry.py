"""The chain's registry part (PostgreSQL) and a per-process cache of it.

What a chain request needs from the registry is the underlying's index token, its live
expiries and one expiry's option rows, arranged for the snapshot read (``ChainLayout``). That
is three queries, about a third of a request's cost, for data that changes a few times a day.
So each web process keeps the layouts it built in a ``RegistryCache``, and an entry is served
only while all of these hold (docs/chain.md, "Registry cache"):

* it was built less than ``ttl_seconds`` ago (the bound for a change made behind the services'
  back: a shell, SQL, a Redis outage that lost the version write);
* the key matches: prefix, underlying, the requested expiry and the first live expiry date at
  ``now`` (so the 15:30 IST rollover starts a new entry);
* the registry version ``{prefix}:registry:version`` in Redis is the one read before its
  queries ran. The subscription services write a new random version after every commit that
  changes subscriptions or instruments (``subscriptions.triggers``); the reader gets it in the
  same pipelined round trip as the snapshots, so a change made through them shows on the next
  request.

A version is a random token, never a counter, so a Redis flush (no version) or an old value
coming back can never match an entry built on other data. Errors (unknown underlying or
expiry) are never cached.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

import numpy as np
import redis
from django.db.models import QuerySet
from numpy.typing import NDArray

from chain.analytics import BoolArray, FloatArray
from contract.names import registry_version_key
from greeks.expiry_time import IST, expiry_close_epoch
from subscriptions.models import Instrument, SubscriptionStatus, Underlying

OPTION_TYPES: Final = ("CE", "PE")
CACHE_MAX_ENTRIES: Final = 256
"""More keys than that (underlyings x expiries x prefixes) empties the cache: never unbounded."""


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
class SidePlaces:
    """One side's rows: ``strike_index[k]`` is where ``row_index[k]`` (into the rows) goes."""

    strike_index: NDArray[np.intp]
    row_index: NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class ChainLayout:
    """One expiry's registry rows arranged on their distinct strikes (read-only, shared).

    ``fields`` are the ``HMGET`` fields of ``{prefix}:latest``: each row's token, then the
    index token.
    """

    expiries: tuple[date, ...]
    expiry: date
    fields: tuple[str, ...]
    strikes: FloatArray
    ce: SidePlaces
    pe: SidePlaces
    ce_rows: tuple[OptionRow | None, ...]
    pe_rows: tuple[OptionRow | None, ...]


def first_live_expiry_date(now: float) -> date:
    """The earliest expiry date not yet closed at ``now``: today until 15:30 IST, then tomorrow."""
    today = datetime.fromtimestamp(now, tz=IST).date()
    return today if expiry_close_epoch(today) > now else today + timedelta(days=1)


def underlying_index_token(name: str) -> int:
    found = Underlying.objects.filter(name=name).values_list("index_token", flat=True).first()
    if found is None:
        known = ", ".join(Underlying.objects.order_by("name").values_list("name", flat=True))
        raise ChainQueryError(f"unknown underlying {name!r} (known: {known or 'none'})")
    return int(found)


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


def option_rows(name: str, now: float, expiries: Sequence[date]) -> list[OptionRow]:
    """The live options of ``expiries``, by expiry, strike, then CE before PE."""
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


def chosen_expiry(underlying: str, expiry: date | None, expiries: Sequence[date]) -> date:
    """``expiry`` when live, the nearest live one when None; else ``ChainQueryError``."""
    if expiry is None:
        if not expiries:
            raise ChainQueryError(f"{underlying} has no live (subscribed) expiries")
        return expiries[0]
    if expiry not in expiries:
        listed = ", ".join(e.isoformat() for e in expiries) or "none"
        raise ChainQueryError(
            f"unknown expiry {expiry.isoformat()} for {underlying} (live: {listed})"
        )
    return expiry


def _read_only(array: NDArray[np.generic]) -> NDArray[np.generic]:
    array.flags.writeable = False  # shared between requests: nobody may write into it
    return array


def strike_layout(
    rows: Sequence[OptionRow],
) -> tuple[FloatArray, SidePlaces, SidePlaces, list[OptionRow | None], list[OptionRow | None]]:
    """The distinct strikes (ascending) and where each row goes on them, per side (pure)."""
    strikes = np.unique(np.array([row.strike for row in rows], dtype=np.float64))
    at = np.searchsorted(strikes, [row.strike for row in rows]).astype(np.intp)
    is_call: BoolArray = np.array([row.is_call for row in rows], dtype=np.bool_)
    positions = np.arange(len(rows), dtype=np.intp)
    ce_rows: list[OptionRow | None] = [None] * strikes.size
    pe_rows: list[OptionRow | None] = [None] * strikes.size
    for row, i in zip(rows, at.tolist(), strict=True):
        (ce_rows if row.is_call else pe_rows)[i] = row
    ce = SidePlaces(_read_only(at[is_call]), _read_only(positions[is_call]))  # type: ignore[arg-type]
    pe = SidePlaces(_read_only(at[~is_call]), _read_only(positions[~is_call]))  # type: ignore[arg-type]
    return _read_only(strikes), ce, pe, ce_rows, pe_rows  # type: ignore[return-value]


def load_layout(underlying: str, expiry: date | None, now: float) -> ChainLayout:
    """The layout of ``underlying`` at ``expiry`` (default: nearest live) from the registry."""
    index_token = underlying_index_token(underlying)
    expiries = live_expiries(underlying, now)
    chosen = chosen_expiry(underlying, expiry, expiries)
    rows = option_rows(underlying, now, [chosen])
    strikes, ce, pe, ce_rows, pe_rows = strike_layout(rows)
    return ChainLayout(
        expiries=expiries, expiry=chosen, fields=(*(str(r.token) for r in rows), str(index_token)),
        strikes=strikes, ce=ce, pe=pe, ce_rows=tuple(ce_rows), pe_rows=tuple(pe_rows),
    )  # fmt: skip


def version_text(raw: bytes | str | None) -> str | None:
    """A registry version as read from Redis (the client may or may not decode)."""
    return raw.decode() if isinstance(raw, bytes) else raw


def current_version(client: redis.Redis, prefix: str) -> str:
    """The registry version; a fresh random one is written first when there is none."""
    key = registry_version_key(prefix)
    found = version_text(client.get(key))
    if found is not None:
        return found
    fresh = uuid.uuid4().hex
    client.set(key, fresh, nx=True)  # a concurrent reader or writer may have won: read back
    return version_text(client.get(key)) or fresh


CacheKey = tuple[str, str, date | None, date]


@dataclass(frozen=True, slots=True)
class CachedLayout:
    layout: ChainLayout
    version: str
    built_at: float


class RegistryCache:
    """Layouts by (prefix, underlying, requested expiry, first live expiry date), per process.

    Thread-safe (a lock around the dict); entries are immutable and shared.
    """

    def __init__(self, *, ttl_seconds: float, max_entries: int = CACHE_MAX_ENTRIES) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._entries: dict[CacheKey, CachedLayout] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(prefix: str, underlying: str, expiry: date | None, now: float) -> CacheKey:
        return (prefix, underlying, expiry, first_live_expiry_date(now))

    def get(self, key: CacheKey, *, now: float) -> CachedLayout | None:
        """The entry when younger than the TTL (a clock that went back counts as expired)."""
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or not 0.0 <= now - entry.built_at < self.ttl_seconds:
            return None
        return entry

    def put(self, key: CacheKey, entry: CachedLayout) -> None:
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = entry

    def discard(self, key: CacheKey) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
