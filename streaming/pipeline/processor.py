"""Frames in, one chunk of Redis commands out: decode, enrich, aggregate, encode.

Synchronous and free of I/O: the worker calls ``process_frames`` with every binary frame that
arrived in one event-loop turn (``streaming.feed.frame_batcher``; one frame when the worker keeps
up, more when it is busy) and the result goes to a sink (the publisher's bounded buffer). Per
batch: ``kite_wire.decode_frames``, one table lookup, one vectorised IV + Greeks call for its
options, one orjson encode per message, a PUBLISH per message, one XADD per stream and a single
HSET of the batch's snapshots.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

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
from greeks.engine import GreeksDefaults
from kite_wire.packets import MODE_FULL, MODE_LTP, DecodedBatch, decode_frames
from streaming.metrics import MALFORMED_PACKETS, TICKS
from streaming.pipeline.bars import BarAggregator
from streaming.pipeline.enrich import price_options, years_to_expiry
from streaming.pipeline.instruments import KIND_INDEX, KIND_OPTION, KIND_OTHER, InstrumentTable
from streaming.pipeline.messages import bar_message, depth_fragments, headed_message
from streaming.publish.resp import ChannelEncoder, Chunk, hset

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
        fields: list[bytes] = []
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
        option_rows = np.flatnonzero(kind == KIND_OPTION)
        if option_rows.size:
            commands += self._priced(
                batch=batch, rows=rows[option_rows], positions=positions[option_rows], ts=ts,
                received=received, parts=parts, fields=fields, values=values,
            )  # fmt: skip
            messages += int(option_rows.size)
        other_rows = np.flatnonzero(kind == KIND_OTHER)
        if other_rows.size:
            self._others(
                batch=batch, rows=rows[other_rows], positions=positions[other_rows], ts=ts,
                received=received, fields=fields, values=values,
            )  # fmt: skip
        if fields:
            parts.append(hset(self._latest_key, fields, values))
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
            fields.append(table.token_fields[position])
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
        parts: list[bytes],
        fields: list[bytes],
        values: list[bytes],
    ) -> int:
        """Option ticks: one vectorised pricing call, then one message each.

        Returns the number of Redis commands added (a PUBLISH per tick, one XADD).
        """
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
        mode = batch.mode[rows]
        volume, oi, depth = _market_columns(batch, rows, mode)
        heads, token_fields, is_mock = table.heads, table.token_fields, self.is_mock
        publish = self._options.publish
        published: list[bytes] = []
        for i, (position, p, v, o, iv, de, ga, th, ve, rh, s, err, stamp) in enumerate(
            zip(
                positions.tolist(),
                price.tolist(),
                volume,
                oi,
                pricing.iv.tolist(),
                pricing.delta.tolist(),
                pricing.gamma.tolist(),
                pricing.theta.tolist(),
                pricing.vega.tolist(),
                pricing.rho.tolist(),
                spot.tolist(),
                pricing.iv_error,
                now.tolist(),
                strict=True,
            )
        ):
            tick: dict[str, object] = {
                "price": p, "volume": v, "oi": o, "iv": iv, "delta": de, "gamma": ga,
                "theta": th, "vega": ve, "ts": stamp, "is_mock": is_mock, "rho": rh,
                "underlying_price": s, "iv_error": err, "received_at": received,
            }  # fmt: skip
            extra = depth[i] if depth is not None else None
            if extra is not None:
                tick.update(extra)  # full mode: depth and total quantities
            message = headed_message(heads[position], tick)
            publish(parts, message)
            published.append(message)
            fields.append(token_fields[position])
            values.append(message)
        return len(published) + self._options.add_stream_entry(parts, published)

    def _others(
        self,
        *,
        batch: DecodedBatch,
        rows: npt.NDArray[np.intp],
        positions: npt.NDArray[np.intp],
        ts: npt.NDArray[np.float64],
        received: float,
        fields: list[bytes],
        values: list[bytes],
    ) -> None:
        """Futures and other tradables: a snapshot in `latest` only (no channel of their own)."""
        table, is_mock = self.table, self.is_mock
        mode = batch.mode[rows]
        volume, oi, depth = _market_columns(batch, rows, mode)
        for i, (position, p, v, o, stamp) in enumerate(
            zip(
                positions.tolist(),
                batch.last_price[rows].tolist(),
                volume,
                oi,
                ts[rows].tolist(),
                strict=True,
            )
        ):
            tick: dict[str, object] = {
                "price": p, "volume": v, "oi": o, "ts": stamp, "is_mock": is_mock,
                "received_at": received,
            }  # fmt: skip
            extra = depth[i] if depth is not None else None
            if extra is not None:
                tick.update(extra)
            fields.append(table.token_fields[position])
            values.append(headed_message(table.heads[position], tick))


def _market_columns(
    batch: DecodedBatch, rows: npt.NDArray[np.intp], mode: npt.NDArray[np.int8]
) -> tuple[list[int | None], list[int | None], list[dict[str, object] | None] | None]:
    """Volume (null in ltp mode), OI and full-mode depth/totals (null/absent otherwise)."""
    volume: list[int | None] = batch.volume_traded[rows].tolist()
    oi: list[int | None] = batch.oi[rows].tolist()
    for i in np.flatnonzero(mode == MODE_LTP).tolist():
        volume[i] = None
    full = mode == MODE_FULL
    for i in np.flatnonzero(~full).tolist():
        oi[i] = None
    if not bool(full.any()):
        return volume, oi, None
    depth: list[dict[str, object] | None] = [None] * int(rows.size)
    full_rows = np.flatnonzero(full)
    chosen = rows[full_rows]
    fragments = depth_fragments(
        np.concatenate([batch.depth_buy_quantity[chosen], batch.depth_sell_quantity[chosen]], 1),
        np.concatenate([batch.depth_buy_price[chosen], batch.depth_sell_price[chosen]], 1),
        np.concatenate([batch.depth_buy_orders[chosen], batch.depth_sell_orders[chosen]], 1),
    )
    columns = zip(
        full_rows.tolist(),
        fragments,
        batch.total_buy_quantity[chosen].tolist(),
        batch.total_sell_quantity[chosen].tolist(),
        strict=True,
    )
    for i, fragment, tbq, tsq in columns:
        depth[i] = {"depth": fragment, "total_buy_quantity": tbq, "total_sell_quantity": tsq}
    return volume, oi, depth
