"""Mock mode: the simulator's market model, run in process, in place of the Kite feed.

Outside market hours (``STREAMING_MOCK_MODE=auto``) or always (``always``), the worker prices
its own subscriptions from `market_model.market.MarketModel`'s index paths and smile, seeded from
the last real index prices, and hands Kite-encoded frames to the same processor the feed uses
(so everything after decode is one code path). Messages carry ``is_mock: true``.

Indices known to the model (NIFTY 50, NIFTY BANK) move; options on them are priced with the
model's smile at the real time to expiry; futures at the forward. Other instruments get no
ticks in mock mode (logged once per reload). Options and futures are sent as ltp packets
whatever their subscribed mode: the model has no volume, OI or depth, and the contract wants
``null`` for what is unknown.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
import structlog

from greeks.engine import calendar_years_to_expiry
from kite_wire.packets import PacketKind, encode_frame, encode_packets, packet_kind
from kite_wire.segments import INDICES, instrument_token
from market_model.clock import VirtualClock, session_start_for
from market_model.config import MarketConfig
from market_model.market import MarketModel, instrument_prices
from streaming.feed.connection import FrameHandler
from streaming.pipeline.instruments import KIND_OPTION, KIND_OTHER, InstrumentTable

log = structlog.get_logger(__name__)


def modelled_index_tokens(config: MarketConfig | None = None) -> list[int]:
    """The index tokens the market model moves (and can be seeded for)."""
    return [
        instrument_token(spec.index_exchange_token, INDICES)
        for spec in (config or MarketConfig()).underlyings
    ]


class MockFeed:
    """Emits one frame per ``tick_seconds`` for the wanted tokens the model can price."""

    def __init__(
        self,
        *,
        on_frame: FrameHandler,
        tick_seconds: float,
        seed: int,
        last_prices: Mapping[int, float],
        account_id: int,
        config: MarketConfig | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._config = config or MarketConfig()
        self._wall = wall
        # A pretend session so the index paths move at any hour; anchored at the last prices.
        clock = VirtualClock.starting_at(session_start_for(datetime.fromtimestamp(wall(), UTC)))
        self.model = MarketModel(self._config, seed=seed, clock=clock, last_prices=last_prices)
        self._stream_of_index = {
            token: stream for stream, token in enumerate(modelled_index_tokens(self._config))
        }
        self._on_frame = on_frame
        self._tick_seconds = tick_seconds
        self._log = log.bind(account_id=account_id)
        self._groups: list[tuple[PacketKind, npt.NDArray[np.intp]]] = []
        self._table: InstrumentTable | None = None
        self.frames = 0

    def set_wanted(self, table: InstrumentTable, modes: Mapping[int, str]) -> None:
        """Tokens to emit, grouped by packet kind; the table gives their contract terms."""
        grouped: dict[PacketKind, list[int]] = {}
        skipped = 0
        for position, meta in enumerate(table.metas):
            mode = modes.get(meta.instrument_token)
            if mode is None:
                continue
            token = meta.underlying_token if not meta.is_index else meta.instrument_token
            if token not in self._stream_of_index:
                skipped += 1
                continue
            # The model knows prices only: tradables go out as Kite's price-only (ltp) packets,
            # so volume, OI and depth are published as null, never as an invented 0.
            kind = packet_kind(mode, is_index=True) if meta.is_index else PacketKind.LTP
            grouped.setdefault(kind, []).append(position)
        self._groups = [(kind, np.array(p, dtype=np.intp)) for kind, p in grouped.items()]
        self._table = table
        if skipped:
            self._log.info("mock_instruments_without_model", count=skipped)

    def frame(self, now: float) -> bytes | None:
        """The frame for ``now`` (wall epoch seconds), or None when nothing is wanted."""
        table = self._table
        if table is None or not self._groups:
            return None
        second = int(now)
        virtual = self.model.clock.now()
        spot_by_index = {
            token: self.model.spot_at(stream, virtual)
            for token, stream in self._stream_of_index.items()
        }
        parts = []
        for kind, positions in self._groups:
            prices = self._prices(table, positions, spot_by_index, second)
            count = positions.shape[0]
            columns: dict[str, npt.ArrayLike] = {
                "instrument_token": table.tokens[positions],
                "last_price": prices,
                "open": prices,
                "high": prices,
                "low": prices,
                "close": prices,
                "exchange_timestamp": np.full(count, second, dtype=np.int64),
            }
            parts.append(encode_packets(kind, columns))
        self.frames += 1
        return encode_frame(*parts)

    def _prices(
        self,
        table: InstrumentTable,
        positions: npt.NDArray[np.intp],
        spot_by_index: Mapping[int, float],
        second: int,
    ) -> npt.NDArray[np.float64]:
        metas = [table.metas[p] for p in positions.tolist()]
        spot = np.array(
            [
                spot_by_index[m.instrument_token if m.is_index else m.underlying_token or 0]
                for m in metas
            ]
        )
        kind = table.kind[positions]
        return instrument_prices(
            spot=spot, t_years=calendar_years_to_expiry(second, table.expiry_epoch[positions]),
            strike=table.strike[positions], is_call=table.is_call[positions],
            is_option=kind == KIND_OPTION, is_future=kind == KIND_OTHER, config=self._config,
        )  # fmt: skip

    async def run(self) -> None:
        """Forever (supervised): one frame per tick interval into the processor."""
        while True:
            now = self._wall()
            payload = self.frame(now)
            if payload is not None:
                self._on_frame(payload, now)
            await asyncio.sleep(self._tick_seconds)
