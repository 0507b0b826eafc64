"""A minimal asyncio Redis connection for the hot path: write encoded commands, count replies.

One socket (TCP or unix, from a redis:// or unix:// URL, with AUTH and SELECT), replies parsed
by hiredis. It exists because redis.asyncio's pipeline costs 2.2x a sync one and builds a Python
object per command (limits-measured.md); here a batch is one ``write`` and a reply loop in C.
"""

from __future__ import annotations

import asyncio
from typing import Any

import hiredis
from redis.connection import parse_url

from streaming.publish.resp import command

READ_SIZE = 1 << 16


class RedisReplyError(Exception):
    """Redis answered a command with an error (the connection itself is fine)."""


class RespConnection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._parser = hiredis.Reader()

    @classmethod
    async def open(cls, url: str, *, timeout_seconds: float = 2.0) -> RespConnection:
        options: dict[str, Any] = parse_url(url)
        async with asyncio.timeout(timeout_seconds):
            if "path" in options:
                reader, writer = await asyncio.open_unix_connection(options["path"])
            else:
                reader, writer = await asyncio.open_connection(
                    options.get("host", "localhost"), int(options.get("port", 6379))
                )
            connection = cls(reader, writer)
            setup: list[bytes] = []
            if options.get("password"):
                auth = [b"AUTH"]
                if options.get("username"):
                    auth.append(str(options["username"]).encode())
                auth.append(str(options["password"]).encode())
                setup.append(command(*auth))
            if int(options.get("db", 0) or 0):
                setup.append(command(b"SELECT", str(options["db"]).encode()))
            if setup:
                errors = await connection.execute(b"".join(setup), len(setup))
                if errors:
                    await connection.close()
                    raise RedisReplyError(f"connection set-up failed: {errors[0]}")
            return connection

    async def execute(self, data: bytes, replies: int) -> list[str]:
        """Write ``data`` (holding ``replies`` commands), read every reply; return the errors."""
        self._writer.write(data)
        await self._writer.drain()
        errors: list[str] = []
        parser, reader = self._parser, self._reader
        got = 0
        while got < replies:
            reply = parser.gets()
            if reply is False:
                chunk = await reader.read(READ_SIZE)
                if not chunk:
                    raise ConnectionResetError("Redis closed the connection")
                parser.feed(chunk)
                continue
            got += 1
            if isinstance(reply, hiredis.ReplyError):
                errors.append(str(reply))
        return errors

    async def close(self) -> None:
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except (OSError, ConnectionError):
            return
