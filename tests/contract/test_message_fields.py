"""What the producers write, what the contract module names and what the document lists agree.

A field renamed in the processor, the worker or the document, and not in ``contract.messages``
(or the other way round), fails here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import orjson

from contract.control import parse_reload, reload_message
from contract.messages import (
    BAR_FIELDS,
    FULL_MODE_FIELDS,
    HEARTBEAT_FIELDS,
    INDEX_TICK_FIELDS,
    OPTION_FIELDS,
    RELOAD_FIELDS,
)
from contract.names import (
    control_channel,
    heartbeat_key,
    latest_key,
    options_channel,
    options_stream,
    underlying_channel,
    underlying_stream,
)
from kite_wire.packets import PacketKind, encode_frame, encode_packets
from streaming.publish.resp import Chunk
from tests.streaming.test_processor import CALL, INDEX, ORPHAN, _messages, _processor, index_packet

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "redis-contract.md").read_text()


def _documented(section: str) -> set[str]:
    """The backticked field names in the first column of the table under ``## `section```."""
    body = DOC.split(f"## `{section}`", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in body.splitlines():
        match = re.match(r"\|\s*(`[^|]+)\|", line)
        if match:
            names.update(re.findall(r"`([a-z_]+)`", match.group(1)))
    return names


def test_the_names_are_the_documented_ones() -> None:
    p = "ticker:nifty"
    assert (options_channel(p), options_stream(p)) == ("ticker:nifty:options",
                                                       "ticker:nifty:options:stream")  # fmt: skip
    assert underlying_channel(p) == "ticker:nifty:underlying"
    assert underlying_stream(p) == "ticker:nifty:underlying:stream"
    assert (latest_key(p), control_channel(p)) == ("ticker:nifty:latest", "ticker:nifty:control")
    assert heartbeat_key(p, 7) == "ticker:nifty:heartbeat:7"
    table = DOC.split("## Channels and keys", 1)[1].split("\n## ", 1)[0]
    for name in ("options", "underlying", "options:stream", "underlying:stream", "latest",
                 "control", "heartbeat:{account_id}"):  # fmt: skip
        assert f"`{{prefix}}:{name}`" in table


def test_processor_messages_carry_exactly_the_contract_fields() -> None:
    chunks: list[Chunk] = []
    processor = _processor(chunks)
    now = 1_900_000_000
    index = index_packet(now)
    full = encode_packets(
        PacketKind.FULL,
        {"instrument_token": [CALL], "last_price": np.array([150.0]), "volume_traded": [10],
         "oi": [5], "exchange_timestamp": [now]},
    )  # fmt: skip
    ltp = encode_packets(PacketKind.LTP, {"instrument_token": [ORPHAN], "last_price": [1.5]})
    processor.process_frame(encode_frame(index, full, ltp), now + 0.5)
    messages = {m["token"]: m for m in _messages(chunks[-1])}
    assert set(messages[CALL]) == OPTION_FIELDS | FULL_MODE_FIELDS
    assert set(messages[ORPHAN]) == OPTION_FIELDS
    # A later minute closes the index's bar.
    later = encode_packets(
        PacketKind.INDEX_FULL,
        {"instrument_token": [INDEX], "last_price": [24110.0], "exchange_timestamp": [now + 61]},
    )
    processor.process_frame(encode_frame(later), now + 61)
    bars = _messages(chunks[-1], underlying_channel("t").encode())
    assert bars and all(set(bar) == BAR_FIELDS for bar in bars)
    # The index's {prefix}:latest value (the bar, the other NIFTY 50 object, has no "price").
    objects = [orjson.loads(m) for m in re.findall(rb'\{"symbol":"NIFTY 50".*?\}', chunks[-1].data)]
    snapshots = [o for o in objects if "price" in o]
    assert len(snapshots) == 1
    assert set(snapshots[0]) == INDEX_TICK_FIELDS


def test_the_reload_codec_round_trips_the_contract_fields() -> None:
    raw = reload_message(account_ids=[3, 1, 3], reason="scheduled", ts=1.0)
    assert set(orjson.loads(raw)) == RELOAD_FIELDS
    assert orjson.loads(raw)["account_ids"] == [1, 3]
    assert parse_reload(raw, account_id=3) == "scheduled"
    assert parse_reload(raw, account_id=2) is None
    assert parse_reload(reload_message(account_ids=[], reason="all", ts=1.0), account_id=2) == "all"
    assert parse_reload(b"{not json", account_id=1) is None
    assert parse_reload(b'{"type": "reload", "account_ids": 1}', account_id=1) is None


def test_the_worker_heartbeat_document_has_the_contract_fields() -> None:
    # Read from the source: the dict literal AccountWorker.heartbeat_document returns.
    tree = ast.parse((ROOT / "streaming" / "worker.py").read_text())
    method = next(
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name == "heartbeat_document"
    )
    returned = next(
        node.value
        for node in ast.walk(method)
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Dict)
    )
    keys = {key.value for key in returned.keys if isinstance(key, ast.Constant)}
    assert keys == HEARTBEAT_FIELDS


def test_the_document_lists_exactly_the_contract_fields() -> None:
    assert _documented("{prefix}:options") == OPTION_FIELDS | FULL_MODE_FIELDS
    assert _documented("{prefix}:underlying") == BAR_FIELDS
    assert _documented("{prefix}:control") == RELOAD_FIELDS
    assert _documented("{prefix}:heartbeat:{account_id}") == HEARTBEAT_FIELDS
