"""Reload requests on the Redis control channel ``{prefix}:control`` (docs/redis-contract.md).

The message is a latency hint for the account workers, not the source of truth (they also
reconcile periodically), so a failed publish is logged and counted, never raised into a request
whose transaction has already committed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import redis
import structlog

from contract.control import reload_message
from contract.names import control_channel
from subscriptions.metrics import CONTROL_PUBLISH_FAILURES

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ControlPublisher:
    """Publishes reload requests; the Redis client and prefix are passed in (see wiring)."""

    redis: redis.Redis
    prefix: str

    @property
    def channel(self) -> str:
        return control_channel(self.prefix)

    def publish_reload(self, *, account_ids: Iterable[int], reason: str, ts: float) -> bool:
        """Publish one reload; False (logged, counted) when Redis is unreachable."""
        ids = sorted(set(account_ids))
        try:
            receivers = self.redis.publish(
                self.channel, reload_message(account_ids=ids, reason=reason, ts=ts)
            )
        except redis.exceptions.RedisError as exc:
            CONTROL_PUBLISH_FAILURES.inc()
            log.warning(
                "control_reload_publish_failed",
                channel=self.channel,
                account_ids=ids,
                reason=reason,
                error_type=type(exc).__name__,
                error=str(exc),
            )
            return False
        log.info(
            "control_reload_published",
            channel=self.channel,
            account_ids=ids,
            reason=reason,
            receivers=receivers,
        )
        return True
