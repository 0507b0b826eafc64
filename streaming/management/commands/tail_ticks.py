"""``manage.py tail_ticks``: print the published messages, a consumer of docs/redis-contract.md.

``--channel options|underlying|control`` (or a full channel name) subscribes to the pub/sub
channel; ``--from-stream`` reads ``{channel}:stream`` from its start instead (replay).
``--count N`` stops after N messages.
"""

from __future__ import annotations

from argparse import ArgumentParser
from collections.abc import Callable
from typing import Any

import orjson
import redis
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from contract.names import (
    STREAM_DATA_FIELD,
    control_channel,
    options_channel,
    stream_of,
    underlying_channel,
)
from infra.redis_factory import build_redis

_SHORT_NAMES: dict[str, Callable[[str], str]] = {
    "options": options_channel,
    "underlying": underlying_channel,
    "control": control_channel,
}


class Command(BaseCommand):
    help = "Print ticks, bars or control messages as they are published (one JSON per line)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--channel", default="options", help="options, underlying, control")
        parser.add_argument("--count", type=int, default=0, help="stop after N messages (0: never)")
        parser.add_argument("--from-stream", action="store_true", help="replay the capped stream")

    def handle(self, *args: Any, **options: Any) -> None:
        name: str = options["channel"]
        if ":" not in name and name not in _SHORT_NAMES:
            raise CommandError(f"--channel: one of {', '.join(_SHORT_NAMES)} or a full name")
        channel = name if ":" in name else _SHORT_NAMES[name](settings.TICKER_CHANNEL_PREFIX)
        client = build_redis(settings.REDIS_URL, timeout_seconds=30.0)
        try:
            if options["from_stream"]:
                self._stream(client, stream_of(channel), options["count"])
            else:
                self._pubsub(client, channel, options["count"])
        finally:
            client.close()

    def _emit(self, data: bytes) -> None:
        self.stdout.write(data.decode())
        self.stdout.flush()

    def _pubsub(self, client: redis.Redis, channel: str, count: int) -> None:
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(channel)
        seen = 0
        try:
            for message in pubsub.listen():
                if message["type"] != "message":
                    continue
                self._emit(message["data"])
                seen += 1
                if count and seen >= count:
                    return
        finally:
            pubsub.close()

    def _stream(self, client: redis.Redis, stream: str, count: int) -> None:
        last_id: bytes | str = "0"
        seen = 0
        while True:
            batch: Any = client.xread({stream: last_id}, count=500, block=5000)
            for _stream_name, entries in batch or []:
                for entry_id, fields in entries:
                    last_id = entry_id
                    # One entry per published batch: a JSON array of that batch's messages.
                    for message in orjson.loads(fields[STREAM_DATA_FIELD.encode()]):
                        self._emit(orjson.dumps(message))
                        seen += 1
                        if count and seen >= count:
                            return
