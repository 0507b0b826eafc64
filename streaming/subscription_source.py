"""Reading an account's subscriptions from PostgreSQL into the worker's pure types.

``load_subscription_set`` is synchronous ORM code: the worker runs it in its one DB thread
(`asyncio.to_thread`-style executor), closing stale connections before and after, so the event
loop never blocks on the database. ``build_subscription_set`` is the pure half.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.db import close_old_connections

from kite_wire.instruments_csv import OPTION_TYPES
from streaming.pipeline.instruments import InstrumentMeta
from subscriptions.models import Instrument, Subscription, SubscriptionStatus, Underlying

INDEX_MODE = "full"  # 32-byte index packets carry the exchange timestamp the Greeks are timed by


@dataclass(frozen=True, slots=True)
class IndexInfo:
    token: int
    tradingsymbol: str
    exchange: str = "NSE"
    segment: str = "INDICES"


@dataclass(frozen=True, slots=True)
class SubscriptionSet:
    """What one account should stream: instruments (incl. indices) and ``{token: mode}``."""

    instruments: tuple[InstrumentMeta, ...]
    modes: dict[int, str]
    index_tokens: frozenset[int]
    unpriceable: int  # options whose underlying index is unknown (published without Greeks)


def build_subscription_set(
    subscribed: Iterable[tuple[InstrumentMeta, str]],
    indices_by_name: Mapping[str, IndexInfo],
) -> SubscriptionSet:
    """Subscribed instruments plus the index of every option (mode full unless subscribed)."""
    metas: dict[int, InstrumentMeta] = {}
    modes: dict[int, str] = {}
    index_tokens: set[int] = set()
    unpriceable = 0
    by_token = {info.token: info for info in indices_by_name.values()}
    for listed, mode in subscribed:
        token = listed.instrument_token
        meta = listed
        if token in by_token:
            meta = _index_meta(by_token[token])
        elif listed.instrument_type in OPTION_TYPES:
            # Options bring their index (the assignment counts it against capacity likewise).
            index = indices_by_name.get(listed.name)
            if index is None:
                unpriceable += 1
            else:
                meta = _with_underlying(listed, index.token)
                index_tokens.add(index.token)
                metas.setdefault(index.token, _index_meta(index))
        metas[token] = meta
        modes[token] = mode
    for token in index_tokens:
        modes.setdefault(token, INDEX_MODE)
    return SubscriptionSet(
        instruments=tuple(metas.values()),
        modes=modes,
        index_tokens=frozenset(index_tokens | (set(modes) & set(by_token))),
        unpriceable=unpriceable,
    )


def _index_meta(info: IndexInfo) -> InstrumentMeta:
    return InstrumentMeta(
        instrument_token=info.token, tradingsymbol=info.tradingsymbol, name=info.tradingsymbol,
        segment=info.segment, exchange=info.exchange, instrument_type="EQ", lot_size=0,
        tick_size=0.0, is_index=True,
    )  # fmt: skip


def _with_underlying(meta: InstrumentMeta, underlying_token: int) -> InstrumentMeta:
    fields = {name: getattr(meta, name) for name in InstrumentMeta.__slots__}
    fields["underlying_token"] = underlying_token
    return InstrumentMeta(**fields)


def instrument_meta(instrument: Instrument) -> InstrumentMeta:
    return InstrumentMeta(
        instrument_token=instrument.instrument_token, tradingsymbol=instrument.tradingsymbol,
        name=instrument.name, segment=instrument.segment, exchange=instrument.exchange,
        instrument_type=instrument.instrument_type, strike=instrument.strike,
        expiry=instrument.expiry, lot_size=instrument.lot_size, tick_size=instrument.tick_size,
        is_index=instrument.segment == "INDICES",
    )  # fmt: skip


def load_subscription_set(account_id: int) -> SubscriptionSet:
    """Active subscriptions of ``account_id`` with their instruments, plus the underlyings."""
    close_old_connections()
    try:
        rows = Subscription.objects.filter(
            account_id=account_id, status=SubscriptionStatus.ACTIVE
        ).select_related("instrument")
        subscribed = [(instrument_meta(row.instrument), row.mode) for row in rows]
        underlyings = list(Underlying.objects.only("name", "index_token", "index_tradingsymbol"))
        listed = {
            i.instrument_token: i
            for i in Instrument.objects.filter(
                instrument_token__in=[u.index_token for u in underlyings]
            ).only("instrument_token", "exchange", "segment")
        }
        indices = {
            u.name: IndexInfo(
                token=u.index_token,
                tradingsymbol=u.index_tradingsymbol,
                exchange=listed[u.index_token].exchange if u.index_token in listed else "NSE",
            )
            for u in underlyings
        }
        return build_subscription_set(subscribed, indices)
    finally:
        close_old_connections()
