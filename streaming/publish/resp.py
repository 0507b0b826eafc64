"""RESP (Redis protocol) encoding of the worker's hot-path commands, pre-built per channel (pure).

limits-measured.md: past ~200k msgs/s the cost is redis-py's Pipeline object, and raw packing
doubles the rate. The commands here are one PUBLISH per message, and per batch one
XADD ... MAXLEN ~ N * data (the batch's messages as one JSON array) and one HSET; their
constant parts are encoded once, so a message costs one length header. The batch forms add
pieces to a list by strided slice assignment (loops in C) and never copy a message: the chunk's
one final ``join`` does, once for each of the three places a message goes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

CRLF: Final = b"\r\n"


def bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


def command(*args: bytes) -> bytes:
    return b"*%d\r\n%s" % (len(args), b"".join(bulk(arg) for arg in args))


@dataclass(frozen=True, slots=True)
class Chunk:
    """Encoded commands ready to write; ``messages`` is what a drop would lose."""

    data: bytes
    commands: int
    messages: int
    received_at: float = 0.0  # when the frame it came from arrived (publish latency)


class ChannelEncoder:
    """PUBLISH to ``channel`` for each message; one XADD to ``stream`` (capped) per batch.

    A stream entry per batch rather than per message halves Redis's work per tick (XADD costs
    the server about 2.6x a PUBLISH) and gives replaying consumers fewer, larger entries.
    """

    def __init__(self, *, channel: str, stream: str, maxlen: int) -> None:
        ch = channel.encode()
        st = stream.encode()
        self._publish_head = b"*3\r\n$7\r\nPUBLISH\r\n%s$" % bulk(ch)
        self._xadd_head = (
            b"*8\r\n$4\r\nXADD\r\n%s$6\r\nMAXLEN\r\n$1\r\n~\r\n%s$1\r\n*\r\n$4\r\ndata\r\n$"
            % (bulk(st), bulk(str(maxlen).encode()))
        )

    def publish(self, parts: list[bytes], message: bytes) -> None:
        parts += (self._publish_head, b"%d\r\n" % len(message), message, CRLF)

    def publish_many(self, parts: list[bytes], messages: list[bytes], lengths: list[bytes]) -> None:
        """A PUBLISH per message; ``lengths`` are their ``length_tokens``."""
        count = len(messages)
        pieces: list[bytes] = [CRLF] * (5 * count)
        pieces[0::5] = [self._publish_head] * count
        pieces[1::5] = lengths
        pieces[3::5] = messages
        parts += pieces

    def add_stream_entry(self, parts: list[bytes], messages: list[bytes]) -> int:
        """One XADD whose ``data`` is the JSON array of ``messages``; returns commands added."""
        if not messages:
            return 0
        count = len(messages)
        size = sum(map(len, messages)) + count + 1  # the brackets and the commas
        array: list[bytes] = [b","] * (2 * count + 1)
        array[0], array[-1] = b"[", b"]"
        array[1::2] = messages
        parts += (self._xadd_head, b"%d\r\n" % size)
        parts += array
        parts.append(CRLF)
        return 1


def length_tokens(values: list[bytes]) -> list[bytes]:
    """Each value's length in decimal, for its bulk-string header."""
    return list(map(b"%d".__mod__, map(len, values)))


def hset_head(key: bytes, pairs: int) -> bytes:
    """``HSET key`` for ``pairs`` field-value pairs (``add_hset_pairs`` adds them)."""
    return b"*%d\r\n$4\r\nHSET\r\n%s" % (2 + 2 * pairs, bulk(key))


def add_hset_pairs(
    parts: list[bytes], field_bulks: list[bytes], values: list[bytes], lengths: list[bytes]
) -> None:
    """The field-value pairs of an HSET (after ``hset_head``), pieces only, nothing copied.

    ``field_bulks``: each field as a complete bulk string (``bulk(field)``, built once per
    instrument); ``lengths``: the values' ``length_tokens``.
    """
    count = len(values)
    pieces: list[bytes] = [CRLF] * (6 * count)
    pieces[0::6] = field_bulks
    pieces[1::6] = [b"$"] * count
    pieces[2::6] = lengths
    pieces[4::6] = values
    parts += pieces
