"""Kite WebSocket text messages: the client's subscribe/unsubscribe/mode and the server's replies.

kiteconnect sends ``json.dumps`` output: ``{"a": "subscribe", "v": [408065]}``,
``{"a": "unsubscribe", "v": [408065]}`` and ``{"a": "mode", "v": ["full", [738561]]}``.
Parsing validates into typed records; anything else is a `MessageError` saying what is wrong.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, TypeAlias

MAX_TOKEN: Final = 0xFFFFFFFF
SUBSCRIBE_LIMIT_MESSAGE: Final = "Can't subscribe to more than 3000 instruments."


class Mode(StrEnum):
    """Streaming modes, as the client names them."""

    LTP = "ltp"
    QUOTE = "quote"
    FULL = "full"


class MessageError(ValueError):
    """A client text message that is not one of Kite's three actions, well formed."""


@dataclass(frozen=True, slots=True)
class Subscribe:
    tokens: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    tokens: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class SetMode:
    mode: Mode
    tokens: tuple[int, ...]


ClientMessage: TypeAlias = Subscribe | Unsubscribe | SetMode


def _tokens(value: object, *, action: str) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise MessageError(f"{action}: tokens must be a list, got {type(value).__name__}")
    tokens: list[int] = []
    for item in value:
        # bool is an int subclass; a JSON true is not a token.
        if isinstance(item, bool) or not isinstance(item, int):
            raise MessageError(f"{action}: token {item!r} is not an integer")
        if not 0 < item <= MAX_TOKEN:
            raise MessageError(f"{action}: token {item} is outside 1..{MAX_TOKEN}")
        tokens.append(item)
    return tuple(tokens)


def parse_client_message(raw: str | bytes) -> ClientMessage:
    """Validate one client text frame into a typed message."""
    try:
        doc = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MessageError(f"not JSON: {exc}") from exc
    if not isinstance(doc, dict) or "a" not in doc or "v" not in doc:
        raise MessageError('expected an object with keys "a" and "v"')
    action, value = doc["a"], doc["v"]
    if action == "subscribe":
        return Subscribe(_tokens(value, action=action))
    if action == "unsubscribe":
        return Unsubscribe(_tokens(value, action=action))
    if action == "mode":
        if not isinstance(value, list) or len(value) != 2:
            raise MessageError('mode: "v" must be [mode, [tokens]]')
        try:
            mode = Mode(value[0])
        except ValueError as exc:
            raise MessageError(f"mode: unknown mode {value[0]!r}") from exc
        return SetMode(mode, _tokens(value[1], action=action))
    raise MessageError(f"unknown action {action!r}")


def build_subscribe(tokens: Iterable[int]) -> str:
    """The subscribe frame exactly as kiteconnect writes it."""
    return json.dumps({"a": "subscribe", "v": list(tokens)})


def build_unsubscribe(tokens: Iterable[int]) -> str:
    """The unsubscribe frame exactly as kiteconnect writes it."""
    return json.dumps({"a": "unsubscribe", "v": list(tokens)})


def build_mode(mode: Mode | str, tokens: Iterable[int]) -> str:
    """The mode frame exactly as kiteconnect writes it."""
    return json.dumps({"a": "mode", "v": [str(Mode(mode)), list(tokens)]})


def build_error(message: str) -> str:
    """Server text frame the client turns into ``on_error(ws, 0, message)``."""
    return json.dumps({"type": "error", "data": message})
