"""The tick processor in process: contract fields, nulls, malformed packets, bars, Redis writes."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import orjson
import pytest

from greeks.engine import GreeksDefaults, bsm_price
from greeks.engine import expiry_close_epoch as expiry_epoch
from kite_wire.packets import PacketKind, encode_frame, encode_packets, frame_from_packets
from streaming.pipeline.instruments import InstrumentMeta, InstrumentTable
from streaming.pipeline.processor import TickProcessor
from streaming.publish.resp import Chunk

INDEX, CALL, PUT, ORPHAN = 256265, 8960002, 8960258, 9000002
EXPIRY = date(2030, 12, 31)


def _table() -> InstrumentTable:
    common: Any = {"segment": "NFO-OPT", "exchange": "NFO", "expiry": EXPIRY, "lot_size": 65}
    return InstrumentTable(
        [
            InstrumentMeta(instrument_token=INDEX, tradingsymbol="NIFTY 50", name="NIFTY 50",
                           segment="INDICES", exchange="NSE", instrument_type="EQ", is_index=True),
            InstrumentMeta(instrument_token=CALL, tradingsymbol="NIFTY30JAN24000CE", name="NIFTY",
                           instrument_type="CE", strike=24000.0, underlying_token=INDEX, **common),
            InstrumentMeta(instrument_token=PUT, tradingsymbol="NIFTY30JAN24000PE", name="NIFTY",
                           instrument_type="PE", strike=24000.0, underlying_token=INDEX, **common),
            InstrumentMeta(instrument_token=ORPHAN, tradingsymbol="FOO30JAN10CE", name="FOO",
                           instrument_type="CE", strike=10.0, **common),
        ]
    )  # fmt: skip


def _processor(chunks: list[Chunk]) -> TickProcessor:
    return TickProcessor(
        table=_table(), greeks=GreeksDefaults(), prefix="t", options_stream_maxlen=100,
        bars_stream_maxlen=100, is_mock=False, sink=chunks.append, account_id=1,
    )  # fmt: skip


def index_packet(now: int) -> Any:
    """The NIFTY index at 24,100 in full mode, stamped ``now``."""
    return encode_packets(
        PacketKind.INDEX_FULL,
        {"instrument_token": [INDEX], "last_price": [24100.0], "exchange_timestamp": [now]},
    )


def _messages(chunk: Chunk, channel: bytes = b"t:options") -> list[dict]:
    out = []
    data = chunk.data
    marker = b"PUBLISH\r\n$%d\r\n%s\r\n$" % (len(channel), channel)
    start = data.find(marker)
    while start >= 0:
        head = start + len(marker)
        size_end = data.index(b"\r\n", head)
        size = int(data[head:size_end])
        out.append(orjson.loads(data[size_end + 2 : size_end + 2 + size]))
        start = data.find(marker, size_end + 2 + size)
    return out


def test_option_ticks_are_priced_from_the_index_in_the_same_frame():
    chunks: list[Chunk] = []
    processor = _processor(chunks)
    now = 1_900_000_000
    t_years = (expiry_epoch(EXPIRY) - now) / (365 * 86400)
    prices = [
        float(
            bsm_price(
                spot=24100.0, strike=24000.0, t_years=t_years, rate=0.10, sigma=0.15, is_call=call
            )
        )
        for call in (True, False)
    ]
    index = index_packet(now)
    options = encode_packets(
        PacketKind.FULL,
        {"instrument_token": [CALL, PUT], "last_price": np.round(prices, 2),
         "volume_traded": [10, 20], "oi": [5, 6], "exchange_timestamp": [now, now]},
    )  # fmt: skip
    ltp = encode_packets(PacketKind.LTP, {"instrument_token": [ORPHAN], "last_price": [1.5]})
    processor.process_frame(encode_frame(index, options, ltp), now + 0.5)
    messages = {m["token"]: m for m in _messages(chunks[-1])}
    call, put, orphan = messages[CALL], messages[PUT], messages[ORPHAN]
    assert call["iv"] == pytest.approx(0.15, abs=1e-3)
    assert put["iv"] == pytest.approx(0.15, abs=1e-3)
    assert call["underlying_price"] == 24100.0 and call["ts"] == now
    assert 0 < call["delta"] < 1 and -1 < put["delta"] < 0 and call["theta"] < 0
    assert call["volume"] == 10 and call["oi"] == 5 and len(call["depth"]["sell"]) == 5
    # ltp mode: no volume, no oi, no depth; no index for FOO: no IV and a reason
    assert orphan["volume"] is None and orphan["oi"] is None and "depth" not in orphan
    assert orphan["iv"] is None and orphan["iv_error"] == "no_underlying_price"
    assert orphan["ts"] == now + 0.5  # receive time when the packet has no timestamp
    assert call["received_at"] == put["received_at"] == orphan["received_at"] == now + 0.5


def test_a_malformed_packet_is_counted_and_the_rest_of_the_frame_kept():
    chunks: list[Chunk] = []
    processor = _processor(chunks)
    good = encode_packets(PacketKind.LTP, {"instrument_token": [CALL], "last_price": [10.0]})
    frame = frame_from_packets([good["packet"].tobytes(), b"\x01" * 13])
    processor.process_frame(frame, 1_900_000_000.0)
    assert processor.malformed == 1
    assert [m["token"] for m in _messages(chunks[-1])] == [CALL]
    assert chunks[-1].data.count(b"HSET") == 1


def test_unknown_tokens_are_skipped_and_heartbeats_ignored():
    chunks: list[Chunk] = []
    processor = _processor(chunks)
    processor.process_frame(b"\x00", 1.0)
    stranger = encode_packets(PacketKind.LTP, {"instrument_token": [777], "last_price": [1.0]})
    processor.process_frame(encode_frame(stranger), 1.0)
    assert chunks == [] and processor.unknown == 1 and processor.ticks == 0


def test_closed_index_bars_are_published(redis_client):
    chunks: list[Chunk] = []
    processor = _processor(chunks)
    for second, price in ((0, 100.0), (30, 105.0), (61, 101.0)):
        frame = encode_frame(
            encode_packets(
                PacketKind.INDEX_FULL,
                {
                    "instrument_token": [INDEX],
                    "last_price": [price],
                    "exchange_timestamp": [1_900_000_020 + second],
                },
            )
        )
        processor.process_frame(frame, 1_900_000_099.25 + second)
    bars = _messages(chunks[-1], b"t:underlying")
    assert bars == [
        {"symbol": "NIFTY 50", "open": 100.0, "high": 105.0, "low": 100.0, "close": 105.0,
         "volume": 0, "ts": 1_900_000_020, "is_mock": False, "token": INDEX},
    ]  # fmt: skip
    # The chunk is valid RESP that Redis accepts as is.
    connection = redis_client.connection_pool.get_connection()
    try:
        connection.send_packed_command([chunks[-1].data])
        replies = [connection.read_response() for _ in range(chunks[-1].commands)]
    finally:
        redis_client.connection_pool.release(connection)
    assert len(replies) == 3
    assert redis_client.xlen("t:underlying:stream") == 1
    latest = orjson.loads(redis_client.hget("t:latest", str(INDEX)))
    # ts: the exchange's stamp; received_at: when the frame reached us (our clock).
    assert latest == {"symbol": "NIFTY 50", "token": INDEX, "price": 101.0,
                      "ts": 1_900_000_081, "received_at": 1_900_000_160.25,
                      "is_mock": False}  # fmt: skip


def test_a_frame_is_one_stream_entry_holding_its_messages(redis_client):
    chunks: list[Chunk] = []
    processor = _processor(chunks)
    index = encode_packets(
        PacketKind.INDEX_FULL, {"instrument_token": [INDEX], "last_price": [24100.0]}
    )
    options = encode_packets(
        PacketKind.FULL, {"instrument_token": [CALL, PUT], "last_price": [180.0, 60.0]}
    )
    processor.process_frame(encode_frame(index, options), 1_900_000_000.0)
    connection = redis_client.connection_pool.get_connection()
    try:
        connection.send_packed_command([chunks[-1].data])
        for _ in range(chunks[-1].commands):
            connection.read_response()
    finally:
        redis_client.connection_pool.release(connection)
    entries = redis_client.xrange("t:options:stream")
    assert len(entries) == 1
    in_stream = orjson.loads(entries[0][1][b"data"])
    assert in_stream == _messages(chunks[-1])  # the same objects as published, in order


def test_messages_of_a_mixed_mode_batch_keep_frame_order_and_orjsons_formatting() -> None:
    chunks: list[Chunk] = []
    processor = _processor(chunks)
    now = 1_900_000_000
    index = index_packet(now)
    full = encode_packets(
        PacketKind.FULL, {"instrument_token": [PUT], "last_price": [60.0], "oi": [9]}
    )
    quote = encode_packets(
        PacketKind.QUOTE, {"instrument_token": [CALL], "last_price": [180.0], "volume_traded": [4]}
    )
    ltp = encode_packets(PacketKind.LTP, {"instrument_token": [ORPHAN], "last_price": [1.5]})
    processor.process_frame(encode_frame(index, quote, ltp, full), now + 0.25)
    data = chunks[-1].data
    raw = []
    marker = b"PUBLISH\r\n$9\r\nt:options\r\n$"
    start = data.find(marker)
    while start >= 0:
        size_end = data.index(b"\r\n", start + len(marker))
        size = int(data[start + len(marker) : size_end])
        raw.append(data[size_end + 2 : size_end + 2 + size])
        start = data.find(marker, size_end + 2 + size)
    decoded = [orjson.loads(message) for message in raw]
    assert [m["token"] for m in decoded] == [CALL, ORPHAN, PUT]  # the frame's order
    # Byte for byte what orjson writes for the same dicts (key order, number formatting).
    assert [orjson.dumps(m) for m in decoded] == raw
    call, orphan, put = decoded
    assert call["volume"] == 4 and call["oi"] is None and "depth" not in call
    assert orphan["volume"] is None and orphan["oi"] is None
    assert put["oi"] == 9 and put["depth"]["buy"][0]["quantity"] == 0
