"""kite_wire.messages: the three client actions exactly as kiteconnect writes them."""

from __future__ import annotations

import json

import pytest

from kite_wire.messages import (
    MessageError,
    Mode,
    SetMode,
    Subscribe,
    Unsubscribe,
    build_error,
    build_mode,
    build_subscribe,
    build_unsubscribe,
    parse_client_message,
)


def test_parses_what_kiteconnect_sends() -> None:
    assert parse_client_message('{"a": "subscribe", "v": [408065, 738561]}') == Subscribe(
        (408065, 738561)
    )
    assert parse_client_message('{"a": "unsubscribe", "v": [408065]}') == Unsubscribe((408065,))
    assert parse_client_message('{"a": "mode", "v": ["full", [738561]]}') == SetMode(
        Mode.FULL, (738561,)
    )


def test_builders_match_the_client_bytes() -> None:
    assert build_subscribe([408065, 738561]) == '{"a": "subscribe", "v": [408065, 738561]}'
    assert build_unsubscribe([408065]) == '{"a": "unsubscribe", "v": [408065]}'
    assert build_mode("full", [738561]) == '{"a": "mode", "v": ["full", [738561]]}'
    assert json.loads(build_error("boom")) == {"type": "error", "data": "boom"}


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", '"a" and "v"'),
        ('{"a": "subscribe"}', '"a" and "v"'),
        ('{"a": "dance", "v": []}', "unknown action"),
        ('{"a": "subscribe", "v": 5}', "must be a list"),
        ('{"a": "subscribe", "v": ["256265"]}', "not an integer"),
        ('{"a": "subscribe", "v": [true]}', "not an integer"),
        ('{"a": "subscribe", "v": [-1]}', "outside"),
        ('{"a": "subscribe", "v": [4294967296]}', "outside"),
        ('{"a": "mode", "v": ["fast", [1]]}', "unknown mode"),
        ('{"a": "mode", "v": ["full"]}', "[mode, [tokens]]"),
    ],
)
def test_bad_messages_say_what_is_wrong(raw: str, fragment: str) -> None:
    with pytest.raises(MessageError, match=None) as info:
        parse_client_message(raw)
    assert fragment in str(info.value)
