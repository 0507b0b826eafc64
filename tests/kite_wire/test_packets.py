"""kite_wire.packets against kiteconnect's own parser (the independent oracle)."""

from __future__ import annotations

import struct
from datetime import datetime
from typing import Any

import numpy as np
import pytest
from kiteconnect import KiteTicker

from kite_wire.packets import (
    HEARTBEAT,
    MODE_NAMES,
    DecodedBatch,
    PacketKind,
    decode_frame,
    decode_frames,
    encode_frame,
    encode_packets,
    frame_from_packets,
)
from kite_wire.segments import BCD, CDS, INDICES, NCO, NFO, NSE, instrument_token

TRADABLE_SEGMENTS = (NSE, NFO, CDS, BCD, NCO)


@pytest.fixture(scope="module")
def oracle() -> KiteTicker:
    """A KiteTicker that never connects: only its parser is used."""
    return KiteTicker("key", "token")


def _columns(kind: PacketKind, n: int, rng: np.random.Generator) -> dict[str, Any]:
    is_index = kind in (PacketKind.INDEX_QUOTE, PacketKind.INDEX_FULL)
    segments = (
        np.full(n, INDICES) if is_index else rng.choice((*TRADABLE_SEGMENTS, INDICES), size=n)
    )
    exchange_tokens = rng.integers(1, 60000, n)
    tokens = np.array(
        [instrument_token(int(e), int(s)) for e, s in zip(exchange_tokens, segments, strict=True)]
    )
    # Prices as integers in packet units, then turned into rupees so encode round-trips exactly.
    divisors = np.where(segments == CDS, 1e7, np.where(np.isin(segments, (BCD, NCO)), 1e4, 100.0))

    def price(shape: tuple[int, ...] | int = n) -> np.ndarray:
        raw = rng.integers(1, 400_000_000, size=shape)
        div = divisors if np.ndim(raw) == 1 else divisors[:, None]
        return raw / div

    cols: dict[str, Any] = {"instrument_token": tokens, "last_price": price()}
    for name in ("open", "high", "low", "close", "average_traded_price"):
        cols[name] = price()
    cols["close"][0] = 0.0  # kiteconnect's change is 0 when close is 0
    for name in (
        "last_traded_quantity",
        "volume_traded",
        "total_buy_quantity",
        "total_sell_quantity",
        "oi",
        "oi_day_high",
        "oi_day_low",
    ):
        cols[name] = rng.integers(0, 2**32, size=n)
    cols["last_trade_time"] = rng.integers(1_700_000_000, 1_800_000_000, size=n)
    cols["exchange_timestamp"] = rng.integers(1_700_000_000, 1_800_000_000, size=n)
    cols["change"] = rng.normal(0, 50, size=n)
    for side in ("buy", "sell"):
        cols[f"depth_{side}_quantity"] = rng.integers(0, 2**32, size=(n, 5))
        cols[f"depth_{side}_price"] = price((n, 5))
        cols[f"depth_{side}_orders"] = rng.integers(0, 2**16, size=(n, 5))
    return cols


def _assert_matches(batch: DecodedBatch, ticks: list[dict[str, Any]]) -> None:
    assert len(batch) == len(ticks)
    for i, tick in enumerate(ticks):
        assert tick["instrument_token"] == batch.instrument_token[i]
        assert tick["tradable"] == bool(batch.tradable[i])
        assert tick["mode"] == MODE_NAMES[batch.mode[i]]
        assert tick["last_price"] == batch.last_price[i]
        checked = {"instrument_token", "tradable", "mode", "last_price"}
        if "ohlc" in tick:
            for key in ("open", "high", "low", "close"):
                assert tick["ohlc"][key] == getattr(batch, key)[i], key
            assert tick["change"] == batch.change[i]
            checked |= {"ohlc", "change"}
        for key in (
            "last_traded_quantity",
            "average_traded_price",
            "volume_traded",
            "total_buy_quantity",
            "total_sell_quantity",
            "oi",
            "oi_day_high",
            "oi_day_low",
        ):
            if key in tick:
                assert tick[key] == getattr(batch, key)[i], key
                checked.add(key)
        for key in ("exchange_timestamp", "last_trade_time"):
            if key in tick:
                # kiteconnect builds naive local datetimes; compare on its terms.
                expected = datetime.fromtimestamp(int(getattr(batch, key)[i]))  # noqa: DTZ006
                assert tick[key] == expected, key
                checked.add(key)
        if "depth" in tick:
            for side in ("buy", "sell"):
                for level, entry in enumerate(tick["depth"][side]):
                    assert entry == {
                        "quantity": batch.__getattribute__(f"depth_{side}_quantity")[i, level],
                        "price": batch.__getattribute__(f"depth_{side}_price")[i, level],
                        "orders": batch.__getattribute__(f"depth_{side}_orders")[i, level],
                    }
            checked.add("depth")
        assert set(tick) == checked, f"fields not compared: {set(tick) - checked}"


@pytest.mark.parametrize("kind", list(PacketKind))
def test_every_mode_decodes_as_kiteconnect(kind: PacketKind, oracle: KiteTicker) -> None:
    rng = np.random.default_rng(int(kind))
    frame = encode_frame(encode_packets(kind, _columns(kind, 50, rng)))
    batch = decode_frame(frame)
    assert batch.malformed == 0
    assert not batch.heartbeat
    _assert_matches(batch, oracle._parse_binary(frame))


def test_encoder_round_trips_columns() -> None:
    rng = np.random.default_rng(7)
    cols = _columns(PacketKind.FULL, 20, rng)
    batch = decode_frame(encode_frame(encode_packets(PacketKind.FULL, cols)))
    np.testing.assert_array_equal(batch.instrument_token, cols["instrument_token"])
    np.testing.assert_array_equal(batch.last_price, cols["last_price"])
    np.testing.assert_array_equal(batch.depth_sell_price, cols["depth_sell_price"])
    np.testing.assert_array_equal(batch.oi, cols["oi"])


def test_index_ohlc_order_is_high_low_open_close(oracle: KiteTicker) -> None:
    token = instrument_token(1001, INDICES)
    packet = struct.pack(">6Ii", token, 2400000, 2410000, 2390000, 2395000, 2380000, -500)
    frame = frame_from_packets([packet])
    batch = decode_frame(frame)
    assert (batch.high[0], batch.low[0], batch.open[0], batch.close[0]) == (
        24100.0,
        23900.0,
        23950.0,
        23800.0,
    )
    _assert_matches(batch, oracle._parse_binary(frame))
    encoded = encode_packets(
        PacketKind.INDEX_QUOTE,
        {
            "instrument_token": [token],
            "last_price": [24000.0],
            "high": [24100.0],
            "low": [23900.0],
            "open": [23950.0],
            "close": [23800.0],
            "change": [-5.0],
        },
    )
    assert encode_frame(encoded) == frame


def test_mixed_frame_keeps_frame_order(oracle: KiteTicker) -> None:
    rng = np.random.default_rng(11)
    parts = [encode_packets(kind, _columns(kind, 7, rng)) for kind in PacketKind]
    raw_packets = [bytes(row.tobytes()[2:]) for part in parts for row in part]
    order = rng.permutation(len(raw_packets))
    frame = frame_from_packets([raw_packets[i] for i in order])
    batch = decode_frame(frame)
    assert batch.malformed == 0
    _assert_matches(batch, oracle._parse_binary(frame))
    assert sorted(np.unique(batch.mode).tolist()) == [0, 1, 2]


def test_heartbeat_is_an_empty_flagged_batch(oracle: KiteTicker) -> None:
    batch = decode_frame(HEARTBEAT)
    assert batch.heartbeat
    assert len(batch) == 0
    assert batch.malformed == 0
    assert oracle._parse_binary(HEARTBEAT) == []


def _good_packets(n: int) -> list[bytes]:
    cols = _columns(PacketKind.QUOTE, n, np.random.default_rng(3))
    return [row.tobytes()[2:] for row in encode_packets(PacketKind.QUOTE, cols)]


def test_unknown_length_is_counted_and_skipped(oracle: KiteTicker) -> None:
    good = _good_packets(3)
    frame = frame_from_packets([good[0], b"\x01" * 13, good[1], good[2]])
    batch = decode_frame(frame)
    assert batch.malformed == 1
    assert "unknown length 13" in batch.errors[0]
    _assert_matches(batch, oracle._parse_binary(frame))


def test_length_beyond_payload_keeps_earlier_packets() -> None:
    good = _good_packets(2)
    frame = frame_from_packets(good) + struct.pack(">H", 184) + b"\x00" * 20
    frame = struct.pack(">H", 3) + frame[2:]
    batch = decode_frame(frame)
    assert len(batch) == 2
    assert batch.malformed == 1
    assert "beyond" in batch.errors[0]


def test_truncated_frame_is_counted() -> None:
    good = _good_packets(2)
    frame = struct.pack(">H", 5) + frame_from_packets(good)[2:]
    batch = decode_frame(frame)
    assert len(batch) == 2
    assert batch.malformed == 1
    assert "truncated" in batch.errors[0]


def test_trailing_bytes_are_reported() -> None:
    batch = decode_frame(frame_from_packets(_good_packets(1)) + b"\x00\x00\x00")
    assert len(batch) == 1
    assert batch.malformed == 1


def test_empty_payload_is_malformed_not_heartbeat() -> None:
    batch = decode_frame(b"")
    assert not batch.heartbeat
    assert batch.malformed == 1


def test_frame_refuses_too_many_packets() -> None:
    cols = {"instrument_token": np.full(70_000, 258), "last_price": np.ones(70_000)}
    with pytest.raises(ValueError, match="do not fit"):
        encode_frame(encode_packets(PacketKind.LTP, cols))


A, B = instrument_token(1001, NFO), instrument_token(1002, NFO)


def test_decode_frames_is_the_concatenation_of_each_frame_in_arrival_order() -> None:
    first = encode_frame(
        encode_packets(PacketKind.LTP, {"instrument_token": [A, B], "last_price": [1.5, 2.5]})
    )
    second = encode_frame(
        encode_packets(PacketKind.LTP, {"instrument_token": [B], "last_price": [3.5]})
    )
    merged = decode_frames([first, b"\x00", second])
    assert merged.instrument_token.tolist() == [A, B, B]
    assert merged.last_price.tolist() == [1.5, 2.5, 3.5]
    assert not merged.heartbeat
    assert merged.malformed == 0
    alone = decode_frame(first)
    assert decode_frames([first]).instrument_token.tolist() == alone.instrument_token.tolist()


def test_decode_frames_keeps_each_frames_damage_to_itself() -> None:
    good = encode_frame(
        encode_packets(PacketKind.LTP, {"instrument_token": [A], "last_price": [9.0]})
    )
    truncated = good[:-3]  # the last packet runs beyond the payload
    merged = decode_frames([truncated, good, good])
    assert merged.instrument_token.tolist() == [A, A]
    assert merged.malformed == 1
    assert "beyond" in merged.errors[0]
    assert decode_frames([b"\x00", b"\x00"]).heartbeat
    assert len(decode_frames([])) == 0


@pytest.mark.parametrize("kind", list(PacketKind))
def test_frames_of_one_kind_decode_together_as_each_frame_does(
    kind: PacketKind, oracle: KiteTicker
) -> None:
    # A busy worker's batch: several homogeneous frames of one kind are decoded as one array.
    rng = np.random.default_rng(100 + int(kind))
    frames = [encode_frame(encode_packets(kind, _columns(kind, n, rng))) for n in (3, 1, 5)]
    merged = decode_frames(frames)
    _assert_matches(merged, [tick for frame in frames for tick in oracle._parse_binary(frame)])
    singles = [decode_frame(frame) for frame in frames]
    for name in ("segment", "mode", "change", "open", "oi", "depth_sell_price", "depth_buy_orders"):
        expected = np.concatenate([getattr(single, name) for single in singles])
        np.testing.assert_array_equal(getattr(merged, name), expected)  # NaN where absent too
        assert getattr(merged, name).dtype == expected.dtype


def test_frames_of_different_kinds_take_the_general_path(oracle: KiteTicker) -> None:
    rng = np.random.default_rng(7)
    frames = [
        encode_frame(encode_packets(PacketKind.FULL, _columns(PacketKind.FULL, 2, rng))),
        encode_frame(encode_packets(PacketKind.LTP, _columns(PacketKind.LTP, 3, rng))),
    ]
    merged = decode_frames(frames)
    _assert_matches(merged, [tick for frame in frames for tick in oracle._parse_binary(frame)])
    assert merged.mode.tolist() == [2, 2, 0, 0, 0]
