"""Frames in, one chunk of Redis commands out: decode, enrich, aggregate, encode.

Synchronous and free of I/O: the worker calls ``process_frames`` with every binary frame that
arrived in one event-loop turn (``streaming.feed.frame_batcher``; one frame when the worker keeps
up, more when it is busy) and the result goes to a sink (the publisher's bounded buffer). Per
batch: ``kite_wire.decode_frames``, one table lookup, one vectorised IV + Greeks call for its
options, their messages rendered together (``message_templates``: one orjson call per numeric
matrix, no Python code per tick), a PUBLISH per message, one XADD per stream and a single HSET
of the batch's snapshots.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
import orjson
import structlog

from contract.names import (
    latest_key,
    options_channel,
    options_stream,
    underlying_channel,
    underlying_stream,
)
from greeks.engine import GreeksDefaults, IVReason
from kite_wire.packets import MODE_FULL, MODE_LTP, MODE_QUOTE, DecodedBatch, decode_frames
from streaming.metrics import MALFORMED_PACKETS, TICKS
from streaming.pipeline.bars import BarAggregator
from streaming.pipeline.enrich import NO_UNDERLYING_PRICE, price_options, years_to_expiry
from streaming.pipeline.instruments import KIND_INDEX, KIND_OPTION, KIND_OTHER, InstrumentTable
from streaming.pipeline.message_templates import Column, Template, number_column, number_columns
from streaming.pipeline.messages import bar_message, depth_columns, headed_message, tick_template
from streaming.publish.resp import (
    ChannelEncoder,
    Chunk,
    add_hset_pairs,
    hset_head,
    length_tokens,
)

log = structlog.get_logger(__name__)
_dumps = orjson.dumps
ChunkSink = Callable[[Chunk], None]
_MALFORMED_LOG_INTERVAL_SECONDS = 1.0


class TickProcessor:
    """Holds the table, the latest underlying prices and the open bars of one worker."""

    def __init__(
        self,
        *,
        table: InstrumentTable,
        greeks: GreeksDefaults,
        prefix: str,
        options_stream_maxlen: int,
        bars_stream_maxlen: int,
        is_mock: bool,
        sink: ChunkSink,
        account_id: int,
    ) -> None:
        self.greeks = greeks
        self.is_mock = is_mock
        self._sink = sink
        self._options = ChannelEncoder(
            channel=options_channel(prefix), stream=options_stream(prefix),
            maxlen=options_stream_maxlen,
        )  # fmt: skip
        self._bars_encoder = ChannelEncoder(
            channel=underlying_channel(prefix), stream=underlying_stream(prefix),
            maxlen=bars_stream_maxlen,
        )  # fmt: skip
        self._latest_key = latest_key(prefix).encode()
        self._log = log.bind(account_id=account_id)
        self._ticks = TICKS.labels(account=str(account_id), kind="all")
        self._malformed_counter = MALFORMED_PACKETS.labels(account=str(account_id))
        self.bars = BarAggregator()
        self.table = table
        self._spot = np.full(len(table.underlying_tokens) + 1, np.nan)  # last slot: "none"
        self.ticks = 0
        self.malformed = 0
        self.unknown = 0
        self.last_tick_at = 0.0
        self._malformed_logged_at = 0.0
        self._malformed_suppressed = 0

    def set_table(self, table: InstrumentTable) -> None:
        """Swap in a reloaded table, carrying the underlying prices over by token."""
        known = dict(zip(self.table.underlying_tokens, self._spot.tolist(), strict=False))
        spot = np.full(len(table.underlying_tokens) + 1, np.nan)
        for slot, token in enumerate(table.underlying_tokens):
            spot[slot] = known.get(token, np.nan)
        self.table, self._spot = table, spot

    def underlying_prices(self) -> dict[int, float]:
        return {
            token: price
            for token, price in zip(self.table.underlying_tokens, self._spot.tolist(), strict=False)
            if not math.isnan(price)
        }

    def process_frame(self, payload: bytes, received_at: float) -> None:
        self.process_frames([payload], received_at)

    def process_frames(self, payloads: Sequence[bytes], received_at: float) -> None:
        """The frames that arrived in one event-loop turn, processed as one batch."""
        batch = decode_frames(payloads)
        if batch.malformed:
            self._count_malformed(batch, received_at)
        if batch.heartbeat or len(batch) == 0:
            return
        self.process_batch(batch, received_at)

    def _count_malformed(self, batch: DecodedBatch, now: float) -> None:
        self.malformed += batch.malformed
        self._malformed_counter.inc(batch.malformed)
        if now - self._malformed_logged_at < _MALFORMED_LOG_INTERVAL_SECONDS:
            self._malformed_suppressed += batch.malformed
            return
        self._log.warning(
            "feed_malformed_packets", count=batch.malformed, errors=list(batch.errors[:3]),
            suppressed_since_last_log=self._malformed_suppressed, good_packets=len(batch),
        )  # fmt: skip
        self._malformed_logged_at = now
        self._malformed_suppressed = 0

    def process_batch(self, batch: DecodedBatch, received_at: float) -> None:
        table = self.table
        positions, known = table.lookup(batch.instrument_token)
        rows: npt.NDArray[np.intp] = np.arange(len(batch))
        if not bool(known.all()):
            self.unknown += int((~known).sum())
            rows = np.flatnonzero(known)
            positions = positions[rows]
        if rows.size == 0:
            return
        self.ticks += int(rows.size)
        self._ticks.inc(int(rows.size))
        self.last_tick_at = received_at
        stamps = batch.exchange_timestamp.astype(np.float64)
        ts = np.where(stamps > 0, stamps, received_at)
        received = round(received_at, 3)  # our clock, for a client's staleness test
        kind = table.kind[positions]
        parts: list[bytes] = []
        fields: list[bytes] = []  # `latest`'s fields (complete bulk strings) and values
        values: list[bytes] = []
        commands = messages = 0
        index_rows = np.flatnonzero(kind == KIND_INDEX)
        if index_rows.size:
            n = self._indices(
                batch=batch, rows=rows[index_rows], positions=positions[index_rows], ts=ts,
                received=received, parts=parts, fields=fields, values=values,
            )  # fmt: skip
            commands += n
            messages += n
        value_lengths = length_tokens(values)
        option_rows = np.flatnonzero(kind == KIND_OPTION)
        if option_rows.size:
            option_positions = positions[option_rows]
            published = self._priced(
                batch=batch, rows=rows[option_rows], positions=option_positions, ts=ts,
                received=received,
            )  # fmt: skip
            lengths = length_tokens(published)
            self._options.publish_many(parts, published, lengths)
            commands += len(published) + self._options.add_stream_entry(parts, published)
            messages += len(published)
            fields += [table.field_bulks[p] for p in option_positions.tolist()]
            values += published
            value_lengths += lengths
        other_rows = np.flatnonzero(kind == KIND_OTHER)
        if other_rows.size:
            other_positions = positions[other_rows]
            snapshots = self._others(
                batch=batch, rows=rows[other_rows], ts=ts, received=received,
                heads=[table.heads[p] for p in other_positions.tolist()],
            )  # fmt: skip
            fields += [table.field_bulks[p] for p in other_positions.tolist()]
            values += snapshots
            value_lengths += length_tokens(snapshots)
        if values:
            parts.append(hset_head(self._latest_key, len(values)))
            add_hset_pairs(parts, fields, values, value_lengths)
            commands += 1
        if parts:
            self._sink(Chunk(b"".join(parts), commands, max(messages, 1), received_at))

    def _indices(
        self,
        *,
        batch: DecodedBatch,
        rows: npt.NDArray[np.intp],
        positions: npt.NDArray[np.intp],
        ts: npt.NDArray[np.float64],
        received: float,
        parts: list[bytes],
        fields: list[bytes],
        values: list[bytes],
    ) -> int:
        """Index ticks: latest price for pricing, a snapshot, and bars they close.

        Returns the number of Redis commands added (a PUBLISH per closed bar, one XADD).
        """
        table, is_mock = self.table, self.is_mock
        closed: list[bytes] = []
        prices = batch.last_price[rows].tolist()
        stamps = ts[rows].tolist()
        for position, price, stamp in zip(positions.tolist(), prices, stamps, strict=True):
            self._spot[table.underlying_slot[position]] = price
            meta = table.metas[position]
            bar = self.bars.update(meta.instrument_token, price, stamp)
            if bar is not None:
                message = bar_message(bar, symbol=meta.tradingsymbol, is_mock=is_mock)
                self._bars_encoder.publish(parts, message)
                closed.append(message)
            fields.append(table.field_bulks[position])
            tick = {"price": price, "ts": stamp, "received_at": received, "is_mock": is_mock}
            values.append(headed_message(table.heads[position], tick))
        return len(closed) + self._bars_encoder.add_stream_entry(parts, closed)

    def _priced(
        self,
        *,
        batch: DecodedBatch,
        rows: npt.NDArray[np.intp],
        positions: npt.NDArray[np.intp],
        ts: npt.NDArray[np.float64],
        received: float,
    ) -> list[bytes]:
        """Option ticks: one vectorised pricing call, then their messages, in ``rows`` order."""
        table = self.table
        price = batch.last_price[rows]
        spot = self._spot[table.underlying_slot[positions]]
        now = ts[rows]
        t_years = years_to_expiry(
            now_epoch=now,
            expiry_epoch=table.expiry_epoch[positions],
            expiry_day=table.expiry_day[positions],
            basis=self.greeks.basis,
            holidays=self.greeks.holidays,
        )
        pricing = price_options(
            price=price, spot=spot, strike=table.strike[positions],
            is_call=table.is_call[positions], t_years=t_years, config=self.greeks,
        )  # fmt: skip
        numbers = number_columns(
            np.column_stack(
                [price, pricing.iv, pricing.delta, pricing.gamma, pricing.theta, pricing.vega,
                 now, pricing.rho, spot]
            )
        )  # fmt: skip
        count = int(rows.size)
        columns = dict(zip(_OPTION_FLOATS, numbers, strict=True))
        columns["iv_error"] = list(map(_ERROR_TOKENS.__getitem__, pricing.iv_error))
        columns["head"] = [table.heads[p] for p in positions.tolist()]
        columns["received_at"] = [_dumps(received)] * count
        return self._render(_OPTION_TEMPLATES[self.is_mock], batch, rows, columns)

    def _others(
        self,
        *,
        batch: DecodedBatch,
        rows: npt.NDArray[np.intp],
        ts: npt.NDArray[np.float64],
        received: float,
        heads: list[bytes],
    ) -> list[bytes]:
        """Futures and other tradables: a snapshot in `latest` only (no channel of their own)."""
        count = int(rows.size)
        price, stamp = number_columns(np.column_stack([batch.last_price[rows], ts[rows]]))
        columns = {
            "head": heads, "price": price, "ts": stamp, "received_at": [_dumps(received)] * count,
        }  # fmt: skip
        return self._render(_OTHER_TEMPLATES[self.is_mock], batch, rows, columns)

    @staticmethod
    def _render(
        templates: dict[int, Template],
        batch: DecodedBatch,
        rows: npt.NDArray[np.intp],
        columns: dict[str, Column],
    ) -> list[bytes]:
        """Messages of ``rows`` in order, each in its mode's template; ``columns`` hold what
        every mode shares."""
        mode = batch.mode[rows]
        modes = np.unique(mode).tolist()
        if len(modes) == 1:  # the usual batch: one subscription mode
            return _render_mode(templates[modes[0]], modes[0], batch, rows, columns)
        out: list[bytes] = [b""] * int(rows.size)
        for group_mode in modes:
            where = np.flatnonzero(mode == group_mode).tolist()
            rendered = _render_mode(
                templates[group_mode], group_mode, batch, rows[where],
                {name: [column[i] for i in where] for name, column in columns.items()},
            )  # fmt: skip
            for at, message in zip(where, rendered, strict=True):
                out[at] = message
        return out


def _render_mode(
    template: Template,
    mode: int,
    batch: DecodedBatch,
    rows: npt.NDArray[np.intp],
    columns: dict[str, Column],
) -> list[bytes]:
    """Messages of ``rows``, all in ``mode``: volume from quote mode on, OI and depth in full."""
    if mode != MODE_LTP:
        columns["volume"] = number_column(batch.volume_traded[rows])
    if mode == MODE_FULL:
        columns["oi"] = number_column(batch.oi[rows])
        columns.update(_depth(batch, rows))
    return template.render(columns, int(rows.size))


_OPTION_FLOATS: Final = (
    "price", "iv", "delta", "gamma", "theta", "vega", "ts", "rho", "underlying_price",
)  # fmt: skip
# `iv_error` as JSON: null when priced, else the reason's label (a JSON string).
_ERROR_TOKENS: Final[dict[str | None, bytes]] = {
    None: b"null",
    NO_UNDERLYING_PRICE: _dumps(NO_UNDERLYING_PRICE),
    **{reason.label: _dumps(reason.label) for reason in IVReason if reason != IVReason.OK},
}


def _market_keys(mode: int) -> list[tuple[str, bytes | None]]:
    """price, then volume (null in ltp mode) and OI (null unless full mode)."""
    return [
        ("price", None), ("volume", b"null" if mode == MODE_LTP else None),
        ("oi", None if mode == MODE_FULL else b"null"),
    ]  # fmt: skip


def _option_keys(mode: int, is_mock: bytes) -> list[tuple[str, bytes | None]]:
    """The option message's keys in the contract's order (docs/redis-contract.md)."""
    return [
        *_market_keys(mode), ("iv", None), ("delta", None), ("gamma", None), ("theta", None),
        ("vega", None), ("ts", None), ("is_mock", is_mock), ("rho", None),
        ("underlying_price", None), ("iv_error", None), ("received_at", None),
    ]  # fmt: skip


def _other_keys(mode: int, is_mock: bytes) -> list[tuple[str, bytes | None]]:
    return [*_market_keys(mode), ("ts", None), ("is_mock", is_mock), ("received_at", None)]


def _templates(
    keys: Callable[[int, bytes], list[tuple[str, bytes | None]]], is_mock: bool
) -> dict[int, Template]:
    mock = b"true" if is_mock else b"false"
    return {
        mode: tick_template(keys(mode, mock), depth=mode == MODE_FULL)
        for mode in (MODE_LTP, MODE_QUOTE, MODE_FULL)
    }


_OPTION_TEMPLATES: Final = {mock: _templates(_option_keys, mock) for mock in (False, True)}
_OTHER_TEMPLATES: Final = {mock: _templates(_other_keys, mock) for mock in (False, True)}


def _depth(batch: DecodedBatch, rows: npt.NDArray[np.intp]) -> dict[str, Column]:
    return depth_columns(
        np.concatenate([batch.depth_buy_quantity[rows], batch.depth_sell_quantity[rows]], 1),
        np.concatenate([batch.depth_buy_price[rows], batch.depth_sell_price[rows]], 1),
        np.concatenate([batch.depth_buy_orders[rows], batch.depth_sell_orders[rows]], 1),
        np.column_stack([batch.total_buy_quantity[rows], batch.total_sell_quantity[rows]]),
    )
