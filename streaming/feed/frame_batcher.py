"""Every frame that arrived in one event-loop turn, handed to the pipeline as one batch.

A connection's read loop does not yield while the socket has frames queued (``recv`` returns at
once), so it only appends here; this task runs after the reads of the turn and passes all of
them (from every connection, or the mock feed) to the pipeline in one call. When the worker
keeps up a batch is one frame and nothing waits; when it falls behind, batches grow and the
per-batch costs (the vectorised pricing call, the Redis chunk) are paid once for many frames
instead of once per 10 ms frame, so a busy worker catches up instead of queueing for ever.

The failure boundary is here: a batch that fails is logged, counted and dropped; a run of
failures is a bug in the pipeline, not bad data, and is raised to the worker's supervisor.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Final

import structlog

from streaming.metrics import FRAME_FAILURES

log = structlog.get_logger(__name__)

BatchHandler = Callable[[Sequence[bytes], float], None]
MAX_CONSECUTIVE_BATCH_FAILURES: Final = 50


class FrameBatcher:
    """``put`` is the feed's frame handler; ``run`` (supervised) processes the batches."""

    def __init__(self, *, handle: BatchHandler, account_id: int) -> None:
        self._handle = handle
        self._pending: list[bytes] = []
        self._received_at = 0.0
        self._ready = asyncio.Event()
        self._log = log.bind(account_id=account_id)
        self._failures_metric = FRAME_FAILURES.labels(account=str(account_id))
        self.batches = 0
        self.frames = 0
        self.largest_batch = 0
        self.failures = 0
        self._consecutive_failures = 0

    def put(self, frame: bytes, received_at: float) -> None:
        self._pending.append(frame)
        self._received_at = received_at
        self._ready.set()

    async def run(self) -> None:
        while True:
            await self._ready.wait()
            self.flush()

    def flush(self) -> None:
        """Process what is pending now (the task's step; callable directly in tests)."""
        self._ready.clear()
        frames, self._pending = self._pending, []
        if not frames:
            return
        self.batches += 1
        self.frames += len(frames)
        self.largest_batch = max(self.largest_batch, len(frames))
        try:
            self._handle(frames, self._received_at)
        except Exception:
            self.failures += 1
            self._consecutive_failures += 1
            self._failures_metric.inc()
            self._log.exception(
                "feed_batch_failed",
                frames=len(frames),
                frame_bytes=sum(len(frame) for frame in frames),
                consecutive=self._consecutive_failures,
            )
            if self._consecutive_failures >= MAX_CONSECUTIVE_BATCH_FAILURES:
                raise
        else:
            self._consecutive_failures = 0
