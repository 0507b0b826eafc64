"""Which (instrument, interval, day) candles are already fetched and stored: what makes runs resume.

One Redis set per (interval, instrument) of IST days (``contract.names.history_done_key``). A day
is added only after its candles were stored, and only once the day's session had closed when they
were fetched, so an interrupted run (a killed worker, a time limit, a dead session) redoes only
the days it did not finish, and today's running session is never marked done. Sets expire after
``ttl_days`` untouched (an option's life is a few months; Kite keeps no history once it expires).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

import redis

from contract.names import history_done_key

DEFAULT_TTL_DAYS: Final = 400


@dataclass(frozen=True)
class HistoryProgress:
    client: redis.Redis
    prefix: str
    ttl_days: int = DEFAULT_TTL_DAYS

    def done_days(self, *, interval: str, tokens: Sequence[int]) -> dict[int, set[date]]:
        """Each token's finished days (one pipelined round trip for all tokens)."""
        pipe = self.client.pipeline(transaction=False)
        for token in tokens:
            pipe.smembers(history_done_key(self.prefix, interval, token))
        replies = pipe.execute()
        return {
            token: {date.fromisoformat(_text(day)) for day in members}
            for token, members in zip(tokens, replies, strict=True)
        }

    def mark_done(self, *, interval: str, token: int, days: Iterable[date]) -> None:
        names = sorted(day.isoformat() for day in days)
        if not names:
            return
        key = history_done_key(self.prefix, interval, token)
        pipe = self.client.pipeline(transaction=True)
        pipe.sadd(key, *names)
        pipe.expire(key, self.ttl_days * 86_400)
        pipe.execute()

    def forget(self, *, interval: str, tokens: Sequence[int]) -> None:
        """Drop the progress of ``tokens`` (a forced refetch)."""
        if tokens:
            self.client.delete(*(history_done_key(self.prefix, interval, t) for t in tokens))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
