"""Kite's binary tick packets and frames: numpy dtypes, a vectorised encoder and decoder.

A frame is ``u16 count`` then, per packet, ``u16 length`` + the packet; every integer is big-endian
and unsigned (kiteconnect unpacks ``>H``/``>I``). The packet kind is known only from its length:
ltp 8, index quote 28, index full 32, quote 44, full 184. Prices travel as integers scaled by the
segment's divisor (see `segments`); the decoder converts them to rupees once, here.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from enum import IntEnum
from typing import Final, TypeAlias

import numpy as np
import numpy.typing as npt

from kite_wire.segments import INDICES, price_divisors, segments_of

HEARTBEAT: Final = b"\x00"
MAX_PACKETS_PER_FRAME: Final = 0xFFFF
DEPTH_LEVELS: Final = 5


class PacketKind(IntEnum):
    """Packet kinds, valued by their length in bytes (the only thing that identifies them)."""

    LTP = 8
    INDEX_QUOTE = 28
    INDEX_FULL = 32
    QUOTE = 44
    FULL = 184


# Mode codes used in decoded columns (strings per tick would cost a Python object each).
MODE_LTP: Final = 0
MODE_QUOTE: Final = 1
MODE_FULL: Final = 2
MODE_NAMES: Final = ("ltp", "quote", "full")

KIND_MODE: Final[dict[int, int]] = {
    PacketKind.LTP: MODE_LTP,
    PacketKind.INDEX_QUOTE: MODE_QUOTE,
    PacketKind.INDEX_FULL: MODE_FULL,
    PacketKind.QUOTE: MODE_QUOTE,
    PacketKind.FULL: MODE_FULL,
}


def packet_kind(mode: str, *, is_index: bool) -> PacketKind:
    """The packet Kite sends for a subscription mode: indices have their own quote/full layouts."""
    if mode == "ltp":
        return PacketKind.LTP
    if mode == "quote":
        return PacketKind.INDEX_QUOTE if is_index else PacketKind.QUOTE
    if mode == "full":
        return PacketKind.INDEX_FULL if is_index else PacketKind.FULL
    raise ValueError(f"unknown mode {mode!r}; expected ltp, quote or full")


_U4: Final = ">u4"

DEPTH_ENTRY_DTYPE: Final = np.dtype(
    [("quantity", _U4), ("price", _U4), ("orders", ">u2"), ("pad", "V2")]
)
LTP_DTYPE: Final = np.dtype([("instrument_token", _U4), ("last_price", _U4)])
# Indices: OHLC order is high, low, open, close; "change" is signed and ignored by kiteconnect.
_INDEX_QUOTE_FIELDS: Final = [
    ("instrument_token", _U4),
    ("last_price", _U4),
    ("high", _U4),
    ("low", _U4),
    ("open", _U4),
    ("close", _U4),
    ("change", ">i4"),
]
INDEX_QUOTE_DTYPE: Final = np.dtype(_INDEX_QUOTE_FIELDS)
INDEX_FULL_DTYPE: Final = np.dtype([*_INDEX_QUOTE_FIELDS, ("exchange_timestamp", _U4)])
_QUOTE_FIELDS: Final = [
    ("instrument_token", _U4),
    ("last_price", _U4),
    ("last_traded_quantity", _U4),
    ("average_traded_price", _U4),
    ("volume_traded", _U4),
    ("total_buy_quantity", _U4),
    ("total_sell_quantity", _U4),
    ("open", _U4),
    ("high", _U4),
    ("low", _U4),
    ("close", _U4),
]
QUOTE_DTYPE: Final = np.dtype(_QUOTE_FIELDS)
FULL_DTYPE: Final = np.dtype(
    [
        *_QUOTE_FIELDS,
        ("last_trade_time", _U4),
        ("oi", _U4),
        ("oi_day_high", _U4),
        ("oi_day_low", _U4),
        ("exchange_timestamp", _U4),
        ("depth", DEPTH_ENTRY_DTYPE, (2 * DEPTH_LEVELS,)),
    ]
)

PACKET_DTYPES: Final[dict[int, np.dtype[np.void]]] = {
    PacketKind.LTP: LTP_DTYPE,
    PacketKind.INDEX_QUOTE: INDEX_QUOTE_DTYPE,
    PacketKind.INDEX_FULL: INDEX_FULL_DTYPE,
    PacketKind.QUOTE: QUOTE_DTYPE,
    PacketKind.FULL: FULL_DTYPE,
}
# A packet with its u16 length prefix: a homogeneous frame body is an array of these.
FRAMED_DTYPES: Final[dict[int, np.dtype[np.void]]] = {
    kind: np.dtype([("length", ">u2"), ("packet", dtype)]) for kind, dtype in PACKET_DTYPES.items()
}
for _kind, _dtype in PACKET_DTYPES.items():
    if _dtype.itemsize != _kind:
        raise AssertionError(f"{_kind!r} dtype is {_dtype.itemsize} bytes")

PRICE_FIELDS: Final = frozenset(
    {"last_price", "average_traded_price", "open", "high", "low", "close"}
)
COUNT_FIELDS: Final = frozenset(
    {
        "last_traded_quantity",
        "volume_traded",
        "total_buy_quantity",
        "total_sell_quantity",
        "last_trade_time",
        "oi",
        "oi_day_high",
        "oi_day_low",
        "exchange_timestamp",
    }
)
DEPTH_FIELDS: Final = frozenset(
    {f"depth_{side}_{part}" for side in ("buy", "sell") for part in ("quantity", "price", "orders")}
)

Columns: TypeAlias = Mapping[str, npt.ArrayLike]


def _scaled(values: npt.ArrayLike, divisors: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Rupees -> the packet's integer units (rint, because 24000.05 * 100 is 2400004.9999...)."""
    return np.rint(np.asarray(values, dtype=np.float64) * divisors).astype(np.int64)


def encode_packets(kind: PacketKind, columns: Columns) -> npt.NDArray[np.void]:
    """Packets of one kind, each with its u16 length prefix, from column arrays.

    Columns use kiteconnect's tick keys; prices are rupees (floats), scaled here by each token's
    segment divisor. ``instrument_token`` and ``last_price`` are required; a field the packet
    carries but ``columns`` lacks is sent as 0. Depth columns are ``(n, 5)`` arrays named
    ``depth_{buy,sell}_{quantity,price,orders}``; index packets take ``change`` (rupees, signed).
    """
    tokens = np.asarray(columns["instrument_token"], dtype=np.int64)
    count = tokens.shape[0]
    out = np.zeros(count, dtype=FRAMED_DTYPES[kind])
    out["length"] = int(kind)
    packet = out["packet"]
    packet["instrument_token"] = tokens
    divisors = price_divisors(segments_of(tokens))
    names = set(PACKET_DTYPES[kind].names or ())
    for name, values in columns.items():
        if name == "instrument_token":
            continue
        if name in DEPTH_FIELDS:
            if kind != PacketKind.FULL:
                continue
            _encode_depth(packet, name, values, divisors)
        elif name in names:
            if name in PRICE_FIELDS or name == "change":
                packet[name] = _scaled(values, divisors)
            else:
                packet[name] = np.asarray(values, dtype=np.int64)
    return out


def _encode_depth(
    packet: npt.NDArray[np.void],
    name: str,
    values: npt.ArrayLike,
    divisors: npt.NDArray[np.float64],
) -> None:
    _, side, part = name.split("_")
    levels = slice(0, DEPTH_LEVELS) if side == "buy" else slice(DEPTH_LEVELS, 2 * DEPTH_LEVELS)
    target = packet["depth"][part]
    if part == "price":
        target[:, levels] = _scaled(values, divisors[:, None])
    else:
        target[:, levels] = np.asarray(values, dtype=np.int64)


def encode_frame(*parts: npt.NDArray[np.void]) -> bytes:
    """One binary frame from length-prefixed packet arrays (see `encode_packets`), in order."""
    total = sum(part.shape[0] for part in parts)
    if total > MAX_PACKETS_PER_FRAME:
        raise ValueError(f"{total} packets do not fit one frame (max {MAX_PACKETS_PER_FRAME})")
    return b"".join([struct.pack(">H", total), *(part.tobytes() for part in parts)])


def frame_from_packets(packets: list[bytes]) -> bytes:
    """A frame from raw packet bytes, lengths taken as given (for tests and fault injection)."""
    body = b"".join(struct.pack(">H", len(p)) + p for p in packets)
    return struct.pack(">H", len(packets)) + body


def _f8(n: int) -> npt.NDArray[np.float64]:
    return np.full(n, np.nan, dtype=np.float64)


def _i8(n: int) -> npt.NDArray[np.int64]:
    return np.zeros(n, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class DecodedBatch:
    """One frame's ticks as columns (frame order). Keys follow kiteconnect's tick dict.

    Fields a packet's mode does not carry are NaN (prices) or 0 (counts, epoch seconds):
    read ``mode`` before trusting them. Prices are rupees; timestamps are epoch seconds.
    """

    instrument_token: npt.NDArray[np.int64]
    segment: npt.NDArray[np.int64]
    mode: npt.NDArray[np.int8]
    tradable: npt.NDArray[np.bool_]
    last_price: npt.NDArray[np.float64]
    last_traded_quantity: npt.NDArray[np.int64]
    average_traded_price: npt.NDArray[np.float64]
    volume_traded: npt.NDArray[np.int64]
    total_buy_quantity: npt.NDArray[np.int64]
    total_sell_quantity: npt.NDArray[np.int64]
    open: npt.NDArray[np.float64]
    high: npt.NDArray[np.float64]
    low: npt.NDArray[np.float64]
    close: npt.NDArray[np.float64]
    change: npt.NDArray[np.float64]
    last_trade_time: npt.NDArray[np.int64]
    oi: npt.NDArray[np.int64]
    oi_day_high: npt.NDArray[np.int64]
    oi_day_low: npt.NDArray[np.int64]
    exchange_timestamp: npt.NDArray[np.int64]
    depth_buy_quantity: npt.NDArray[np.int64]
    depth_buy_price: npt.NDArray[np.float64]
    depth_buy_orders: npt.NDArray[np.int64]
    depth_sell_quantity: npt.NDArray[np.int64]
    depth_sell_price: npt.NDArray[np.float64]
    depth_sell_orders: npt.NDArray[np.int64]
    heartbeat: bool = False
    malformed: int = 0
    errors: tuple[str, ...] = field(default=())

    def __len__(self) -> int:
        return int(self.instrument_token.shape[0])


_COLUMNS: Final = tuple(
    f.name for f in fields(DecodedBatch) if f.name not in {"heartbeat", "malformed", "errors"}
)


def _empty_columns(n: int) -> dict[str, npt.NDArray[np.generic]]:
    depth_shape = (n, DEPTH_LEVELS)
    cols: dict[str, npt.NDArray[np.generic]] = {
        "instrument_token": _i8(n),
        "segment": _i8(n),
        "mode": np.zeros(n, dtype=np.int8),
        "tradable": np.zeros(n, dtype=np.bool_),
    }
    for name in ("last_price", "average_traded_price", "open", "high", "low", "close", "change"):
        cols[name] = _f8(n)
    for name in COUNT_FIELDS:
        cols[name] = _i8(n)
    for side in ("buy", "sell"):
        cols[f"depth_{side}_quantity"] = np.zeros(depth_shape, dtype=np.int64)
        cols[f"depth_{side}_price"] = np.full(depth_shape, np.nan, dtype=np.float64)
        cols[f"depth_{side}_orders"] = np.zeros(depth_shape, dtype=np.int64)
    return cols


def _batch(
    cols: dict[str, npt.NDArray[np.generic]],
    *,
    heartbeat: bool = False,
    errors: list[str] | None = None,
) -> DecodedBatch:
    errs = tuple(errors or ())
    return DecodedBatch(**cols, heartbeat=heartbeat, malformed=len(errs), errors=errs)  # type: ignore[arg-type]


def decode_frame(payload: bytes | bytearray | memoryview) -> DecodedBatch:
    """Decode one binary WebSocket frame into columns.

    A 1-byte frame is a heartbeat (empty batch, ``heartbeat=True``). A malformed packet (unknown
    length, truncated frame, length beyond the payload, trailing bytes) is counted in
    ``malformed`` with a short description in ``errors``; the frame's good packets survive.
    """
    data = bytes(payload) if isinstance(payload, bytearray) else payload
    size = len(data)
    if size == 1:
        return _batch(_empty_columns(0), heartbeat=True)
    if size < 2:
        return _batch(_empty_columns(0), errors=["empty frame"])
    packets = _homogeneous_frame(data)
    if packets is not None:
        return _batch(_homogeneous_columns(packets))
    return _decode_walk(data, int.from_bytes(data[0:2], "big"))


def _homogeneous_frame(data: bytes | memoryview) -> npt.NDArray[np.void] | None:
    """A ticking frame's packets viewed in place when they all have one known length, else
    None (an empty, mixed or damaged frame takes the length walk)."""
    count = int.from_bytes(data[0:2], "big")
    if len(data) < 4 or not count:
        return None
    length = int.from_bytes(data[2:4], "big")
    if length not in PACKET_DTYPES or count * (length + 2) + 2 != len(data):
        return None
    framed = np.frombuffer(data, dtype=FRAMED_DTYPES[length], count=count, offset=2)
    if not bool((framed["length"] == length).all()):
        return None
    return framed["packet"]


_OTHER_PRICE_FIELDS: Final = ("average_traded_price", "open", "high", "low", "close")
_DEPTH_SIDES: Final = (("buy", slice(0, DEPTH_LEVELS)), ("sell", slice(DEPTH_LEVELS, None)))


def _homogeneous_columns(packets: npt.NDArray[np.void]) -> dict[str, npt.NDArray[np.generic]]:
    """Columns of packets of one kind, each built once (no placeholders allocated and then
    filled: the common 10 ms frame is homogeneous, and allocations were a third of its
    decoding). Fields the kind does not carry are NaN (prices) or 0 (counts)."""
    kind = packets.dtype.itemsize
    n = packets.shape[0]
    tokens = packets["instrument_token"].astype(np.int64)
    segments = segments_of(tokens).astype(np.int64, copy=False)
    divisors = price_divisors(segments)
    last_price = packets["last_price"] / divisors
    names = PACKET_DTYPES[kind].names or ()
    carried = kind != PacketKind.LTP
    cols: dict[str, npt.NDArray[np.generic]] = {
        "instrument_token": tokens,
        "segment": segments,
        "mode": np.full(n, KIND_MODE[kind], dtype=np.int8),
        "tradable": segments != INDICES,
        "last_price": last_price,
    }
    for name in _OTHER_PRICE_FIELDS:
        cols[name] = packets[name] / divisors if carried and name in names else _f8(n)
    for name in COUNT_FIELDS:
        cols[name] = packets[name].astype(np.int64) if carried and name in names else _i8(n)
    if carried:
        close = np.asarray(cols["close"], dtype=np.float64)  # the float64 column itself
        # kiteconnect's derived percentage change, same operation order so floats match bit for bit.
        with np.errstate(divide="ignore", invalid="ignore"):
            cols["change"] = np.where(close != 0, (last_price - close) * 100 / close, 0.0)
    else:
        cols["change"] = _f8(n)
    if kind == PacketKind.FULL:
        depth = packets["depth"]
        for side, levels in _DEPTH_SIDES:
            cols[f"depth_{side}_quantity"] = depth["quantity"][:, levels].astype(np.int64)
            cols[f"depth_{side}_price"] = depth["price"][:, levels] / divisors[:, None]
            cols[f"depth_{side}_orders"] = depth["orders"][:, levels].astype(np.int64)
    else:
        for side, _ in _DEPTH_SIDES:
            cols[f"depth_{side}_quantity"] = np.zeros((n, DEPTH_LEVELS), dtype=np.int64)
            cols[f"depth_{side}_price"] = np.full((n, DEPTH_LEVELS), np.nan)
            cols[f"depth_{side}_orders"] = np.zeros((n, DEPTH_LEVELS), dtype=np.int64)
    return cols


def decode_frames(payloads: Sequence[bytes | bytearray | memoryview]) -> DecodedBatch:
    """Decode several frames into one batch, in arrival order.

    The worker hands every frame that arrived in one event-loop turn to the pipeline at once:
    the vectorised pricing and the Redis chunk then cost once per batch, not once per frame
    (a 10 ms frame holds only tens of ticks). Each frame is decoded on its own, so a damaged
    frame cannot shift its neighbours' packets; heartbeats add nothing, malformed counts and
    errors add up. The batch is a heartbeat only when every frame was one.
    """
    if len(payloads) == 1:
        return decode_frame(payloads[0])
    same_kind = _same_kind_packets(payloads)
    if same_kind is not None:
        return _batch(_homogeneous_columns(same_kind))
    batches = [decode_frame(payload) for payload in payloads]
    errors = tuple(error for batch in batches for error in batch.errors)
    heartbeat = bool(batches) and all(batch.heartbeat for batch in batches)
    ticking = [batch for batch in batches if len(batch)]
    if len(ticking) == 1 and not errors:
        return ticking[0]
    if not ticking:
        return _batch(_empty_columns(0), heartbeat=heartbeat, errors=list(errors))
    cols = {name: np.concatenate([getattr(batch, name) for batch in ticking]) for name in _COLUMNS}
    return _batch(cols, heartbeat=heartbeat, errors=list(errors))


def _same_kind_packets(
    payloads: Sequence[bytes | bytearray | memoryview],
) -> npt.NDArray[np.void] | None:
    """Every frame's packets as one array when each frame is homogeneous and all are of one
    kind (a busy worker's usual batch); None when any frame needs the general path."""
    if not payloads:
        return None
    bodies: list[bytes | memoryview] = []
    kind = 0
    for payload in payloads:
        data = bytes(payload) if isinstance(payload, bytearray) else payload
        packets = _homogeneous_frame(data)
        if packets is None or (kind and packets.dtype.itemsize != kind):
            return None
        kind = packets.dtype.itemsize
        bodies.append(data[2:])
    # The framed bodies joined as bytes: np.concatenate of the structured views would promote
    # their 17 big-endian fields on every call, which cost more than the decoding itself.
    framed = np.frombuffer(b"".join(bodies), dtype=FRAMED_DTYPES[kind])
    return framed["packet"]


def _decode_walk(data: bytes | memoryview, count: int) -> DecodedBatch:
    """Length walk for mixed or damaged frames; same-length packets are then viewed together."""
    size = len(data)
    errors: list[str] = []
    groups: dict[int, tuple[list[int], list[int]]] = {}
    good = 0
    pos = 2
    for index in range(count):
        if pos + 2 > size:
            errors.append(f"truncated frame: packet {index} of {count} missing at byte {pos}")
            break
        length = int.from_bytes(data[pos : pos + 2], "big")
        start = pos + 2
        if start + length > size:
            errors.append(f"packet {index} length {length} runs beyond the {size}-byte payload")
            break
        if length in PACKET_DTYPES:
            offsets, places = groups.setdefault(length, ([], []))
            offsets.append(start)
            places.append(good)
            good += 1
        else:
            errors.append(f"packet {index} has unknown length {length}")
        pos = start + length
    else:
        if pos != size:
            errors.append(f"{size - pos} trailing bytes after {count} packets")
    cols = _empty_columns(good)
    raw = np.frombuffer(data, dtype=np.uint8)
    for length, (offsets, places) in groups.items():
        rows = raw[np.asarray(offsets, dtype=np.intp)[:, None] + np.arange(length)]
        packets = np.ascontiguousarray(rows).view(PACKET_DTYPES[length]).reshape(-1)
        where = np.asarray(places, dtype=np.intp)
        for name, column in _homogeneous_columns(packets).items():
            cols[name][where] = column
    return _batch(cols, errors=errors)
