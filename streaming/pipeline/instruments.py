"""The worker's instrument table: token -> metadata as numpy columns plus pre-encoded JSON heads.

Pure: built from `InstrumentMeta` records (the loader turns ORM rows into them). Lookup of a
whole batch is one ``np.searchsorted``. The static part of each option's message (symbol,
tradingsymbol, strike, expiry, ...) is encoded once here, so a tick only encodes its numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Final

import numpy as np
import numpy.typing as npt
import orjson

from greeks.engine import expiry_close_epoch
from kite_wire.instruments_csv import OPTION_TYPES
from streaming.publish.resp import bulk

KIND_INDEX: Final = 0
KIND_OPTION: Final = 1
KIND_OTHER: Final = 2  # futures and other tradables: snapshot in `latest`, no Greeks


@dataclass(frozen=True, slots=True)
class InstrumentMeta:
    """What the worker needs of one subscribed instrument (an index, option or other)."""

    instrument_token: int
    tradingsymbol: str
    name: str  # the underlying's name for derivatives (NIFTY); the index symbol for an index
    segment: str
    exchange: str
    instrument_type: str  # CE, PE, FUT, EQ (indices are EQ in segment INDICES)
    strike: float = 0.0
    expiry: date | None = None
    lot_size: int = 1
    tick_size: float = 0.05
    underlying_token: int | None = None  # the index that prices an option
    is_index: bool = False


def _head(meta: InstrumentMeta) -> bytes:
    """The static fields of the message, as ``{..., `` ready for the dynamic tail."""
    if meta.is_index:
        fields: dict[str, object] = {"symbol": meta.tradingsymbol, "token": meta.instrument_token}
    else:
        fields = {
            "symbol": meta.name,
            "token": meta.instrument_token,
            "tradingsymbol": meta.tradingsymbol,
            "segment": meta.segment,
            "exchange": meta.exchange,
            "strike": meta.strike,
            "expiry": meta.expiry.isoformat() if meta.expiry else None,
            "type": meta.instrument_type,
            "lot_size": meta.lot_size,
            "tick_size": meta.tick_size,
        }
    return orjson.dumps(fields)[:-1] + b","


class InstrumentTable:
    """Columns aligned by position; positions follow sorted tokens."""

    def __init__(self, instruments: Iterable[InstrumentMeta]) -> None:
        metas = sorted(
            {m.instrument_token: m for m in instruments}.values(),
            key=lambda m: m.instrument_token,
        )
        self.metas: tuple[InstrumentMeta, ...] = tuple(metas)
        n = len(metas)
        self.tokens: npt.NDArray[np.int64] = np.array(
            [m.instrument_token for m in metas], dtype=np.int64
        )
        self.kind = np.array([_kind(m) for m in metas], dtype=np.int8)
        self.strike = np.array([m.strike for m in metas], dtype=np.float64)
        self.is_call = np.array([m.instrument_type == "CE" for m in metas], dtype=np.bool_)
        self.expiry_epoch = np.array(
            [expiry_close_epoch(m.expiry) if m.expiry else np.nan for m in metas], dtype=np.float64
        )
        self.expiry_day = np.array(
            [np.datetime64(m.expiry, "D") if m.expiry else np.datetime64("NaT") for m in metas],
            dtype="datetime64[D]",
        )
        self.underlying_tokens: tuple[int, ...] = tuple(
            sorted(
                {m.underlying_token for m in metas if m.underlying_token is not None}
                | {m.instrument_token for m in metas if m.is_index}
            )
        )
        slot_of = {token: slot for slot, token in enumerate(self.underlying_tokens)}
        self.underlying_slot = np.array(
            [
                slot_of[m.underlying_token]
                if m.underlying_token is not None
                else slot_of.get(m.instrument_token, -1)
                if m.is_index
                else -1
                for m in metas
            ],
            dtype=np.intp,
        ).reshape(n)
        self.heads: list[bytes] = [_head(m) for m in metas]
        # Each token as its `latest` hash field, a complete RESP bulk string (the batch's HSET).
        self.field_bulks: list[bytes] = [bulk(str(m.instrument_token).encode()) for m in metas]

    def __len__(self) -> int:
        return int(self.tokens.shape[0])

    def lookup(
        self, tokens: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
        """Positions of ``tokens`` and a mask of those that are in the table."""
        if len(self) == 0:
            return np.zeros(tokens.shape, dtype=np.intp), np.zeros(tokens.shape, dtype=np.bool_)
        positions = np.searchsorted(self.tokens, tokens)
        np.minimum(positions, len(self) - 1, out=positions)
        return positions, self.tokens[positions] == tokens


def _kind(meta: InstrumentMeta) -> int:
    if meta.is_index:
        return KIND_INDEX
    if meta.instrument_type in OPTION_TYPES:
        return KIND_OPTION
    return KIND_OTHER
