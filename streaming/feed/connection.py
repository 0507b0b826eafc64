"""One Kite WebSocket connection: connect, subscribe once, read frames, watch, reconnect.

Built on ``websockets`` (not KiteTicker, whose reconnect and liveness are broken; see
reference/kite-connect.md 1.8). Behaviour:

* after every (re)connect the wanted tokens are sent exactly once: one ``subscribe`` and one
  ``mode`` message per mode (`subscription_diff.full_subscription`);
* a reload sends only the difference on the live socket (`subscription_diff.subscription_diff`);
* our own watchdog: no frame at all (Kite's 1-byte heartbeats included) for
  ``watchdog_seconds`` closes the socket and reconnects;
* reconnects use capped exponential backoff with jitter, reset once a connection is up;
* HTTP 403 at the upgrade raises `AccessTokenRejected` (the worker exits with code 3);
  HTTP 429 (too many connections) waits ``rate_limited_seconds`` on top of the backoff;
* text frames: ``error`` is logged and counted, ``message`` logged, ``order`` ignored;
* binary frames go to ``on_frame``, which must not raise: in the worker it is
  `FrameBatcher.put`, and the batcher is the pipeline's failure boundary.

The URL holds the access token and is never logged (`FeedUrl`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import orjson
import structlog
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidStatus,
    InvalidURI,
)

from streaming.backoff import Backoff
from streaming.config import EXIT_NEEDS_LOGIN, FeedConfig
from streaming.feed.credentials import FeedUrl
from streaming.feed.subscription_diff import full_subscription, subscription_diff
from streaming.metrics import FEED_TEXT_ERRORS, RECONNECTS
from streaming.supervisor import FatalWorkerError

log = structlog.get_logger(__name__)
# websockets logs request lines (with the secret query string) at DEBUG: keep it at WARNING.
_WEBSOCKETS_LOGGER = logging.getLogger("streaming.feed.websockets")
_WEBSOCKETS_LOGGER.setLevel(logging.WARNING)

FrameHandler = Callable[[bytes, float], None]
HTTP_FORBIDDEN = 403
HTTP_TOO_MANY_REQUESTS = 429
MAX_FRAME_BYTES = 8 * 1024 * 1024  # 3,000 full packets are 558 kB


class AccessTokenRejected(FatalWorkerError):
    """Kite answered the upgrade with 403: the access token is dead (expired or revoked)."""

    def __init__(self) -> None:
        super().__init__("Kite rejected the access token (HTTP 403)", exit_code=EXIT_NEEDS_LOGIN)


class FeedConnection:
    """One socket's life; ``run()`` never returns (the supervisor owns it)."""

    def __init__(
        self,
        *,
        index: int,
        url: FeedUrl,
        config: FeedConfig,
        on_frame: FrameHandler,
        account_id: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.index = index
        self._url = url
        self._config = config
        self._on_frame = on_frame
        self._clock = clock
        self._log = log.bind(account_id=account_id, connection=index)
        self._account = str(account_id)
        self._lock = asyncio.Lock()
        self._ws: ClientConnection | None = None
        self._have: dict[int, str] = {}
        self.wanted: dict[int, str] = {}
        self.connected = False
        self.reconnects = 0
        self.frames = 0
        self.subscriptions_sent = 0  # full (re)subscriptions: one per connect
        self.last_frame_at = 0.0

    async def set_wanted(self, wanted: dict[int, str]) -> None:
        """Change the tokens; on a live socket only the difference is sent."""
        async with self._lock:
            self.wanted = dict(wanted)
            ws = self._ws
            if ws is None:
                return  # the next connect subscribes the whole set
            messages = subscription_diff(self._have, self.wanted)
            try:
                for message in messages:
                    await ws.send(message)
            except ConnectionClosed:
                self._log.info("feed_diff_on_closed_socket", messages=len(messages))
                return
            self._have = dict(self.wanted)
            if messages:
                self._log.info("feed_subscriptions_changed", tokens=len(self.wanted))

    async def run(self) -> None:
        backoff = Backoff(
            initial=self._config.reconnect_initial_seconds,
            maximum=self._config.reconnect_max_seconds,
        )
        while True:
            reason, extra_delay = await self._one_connection(backoff)
            self.reconnects += 1
            RECONNECTS.labels(account=self._account, reason=reason).inc()
            delay = backoff.next_delay() + extra_delay
            self._log.warning("feed_reconnecting", reason=reason, delay_seconds=round(delay, 2))
            await asyncio.sleep(delay)

    async def _one_connection(self, backoff: Backoff) -> tuple[str, float]:
        """Connect, subscribe, read until the socket ends; return why and any extra delay."""
        try:
            async with connect(
                self._url.reveal(),
                additional_headers={"X-Kite-Version": "3"},
                compression=None,
                proxy=None,
                open_timeout=self._config.open_timeout_seconds,
                ping_interval=None,  # liveness is our watchdog on every frame
                close_timeout=1.0,
                max_size=MAX_FRAME_BYTES,
                max_queue=64,
                logger=_WEBSOCKETS_LOGGER,
            ) as ws:
                await self._subscribe_all(ws)
                backoff.reset()
                self._log.info("feed_connected", tokens=len(self.wanted))
                return await self._read(ws), 0.0
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status == HTTP_FORBIDDEN:
                self._log.error("feed_access_token_rejected", status=status)
                raise AccessTokenRejected from None
            if status == HTTP_TOO_MANY_REQUESTS:
                self._log.warning("feed_rate_limited", status=status)
                return "rate_limited", self._config.rate_limited_seconds
            self._log.warning("feed_upgrade_rejected", status=status)
            return f"http_{status}", 0.0
        except InvalidURI:
            # The exception text would carry the URL (and so the token): never show it.
            raise ValueError("the account's WebSocket root is not a valid URI") from None
        except ConnectionClosed as exc:
            self._log.warning("feed_closed", code=exc.rcvd.code if exc.rcvd else None)
            return "closed", 0.0
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            self._log.warning("feed_connect_failed", error=type(exc).__name__)
            return "connect_failed", 0.0
        finally:
            async with self._lock:
                self._ws = None
                self._have = {}
                self.connected = False

    async def _subscribe_all(self, ws: ClientConnection) -> None:
        async with self._lock:
            for message in full_subscription(self.wanted):
                await ws.send(message)
            self._have = dict(self.wanted)
            self._ws = ws
            self.connected = True
            self.subscriptions_sent += 1

    async def _read(self, ws: ClientConnection) -> str:
        watchdog = self._config.watchdog_seconds
        handle = self._on_frame
        clock = self._clock
        while True:
            try:
                async with asyncio.timeout(watchdog):
                    message = await ws.recv()
            except TimeoutError:
                self._log.warning("feed_watchdog_fired", silent_seconds=watchdog)
                return "watchdog"
            now = clock()
            self.last_frame_at = now
            self.frames += 1
            if isinstance(message, bytes):
                handle(message, now)
            else:
                self._text(message)

    def _text(self, message: str) -> None:
        try:
            doc = orjson.loads(message)
        except orjson.JSONDecodeError:
            self._log.warning("feed_text_not_json", length=len(message))
            return
        kind = doc.get("type") if isinstance(doc, dict) else None
        data = doc.get("data") if isinstance(doc, dict) else None
        if kind == "error":
            FEED_TEXT_ERRORS.labels(account=self._account).inc()
            self._log.warning("feed_text_error", message=str(data)[:500])
        elif kind == "message":
            self._log.info("feed_broker_message", message=str(data)[:500])
        elif kind != "order":
            self._log.warning("feed_text_unknown", type=str(kind)[:50])
