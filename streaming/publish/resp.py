"""RESP (Redis protocol) encoding of the worker's hot-path commands, pre-built per channel (pure).

limits-measured.md: past ~200k msgs/s the cost is redis-py's Pipeline object, and raw packing
doubles the rate. The commands here are one PUBLISH per message, and per batch one
XADD ... MAXLEN ~ N * data (the batch's messages as one JSON array) and one HSET; their
constant parts are encoded once, so a message costs one length header.
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

    def add_stream_entry(self, parts: list[bytes], messages: list[bytes]) -> int:
        """One XADD whose ``data`` is the JSON array of ``messages``; returns commands added."""
        if not messages:
            return 0
        data = b"[" + b",".join(messages) + b"]"
        parts += (self._xadd_head, b"%d\r\n" % len(data), data, CRLF)
        return 1


def hset(key: bytes, fields: list[bytes], values: list[bytes]) -> bytes:
    """One ``HSET key f1 v1 f2 v2 ...``."""
    parts = [b"*%d\r\n$4\r\nHSET\r\n" % (2 + 2 * len(fields)), bulk(key)]
    for field, value in zip(fields, values, strict=True):
        parts += (b"$%d\r\n" % len(field), field, CRLF, b"$%d\r\n" % len(value), value, CRLF)
    return b"".join(parts)
