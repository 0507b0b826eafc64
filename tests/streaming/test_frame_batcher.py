"""The frame batcher: one pipeline call per event-loop turn, and its failure boundary."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from streaming.feed.frame_batcher import MAX_CONSECUTIVE_BATCH_FAILURES, FrameBatcher


def test_frames_put_in_one_turn_reach_the_pipeline_as_one_batch() -> None:
    calls: list[tuple[list[bytes], float]] = []

    def handle(frames: Sequence[bytes], received_at: float) -> None:
        calls.append((list(frames), received_at))

    async def scenario() -> None:
        batcher = FrameBatcher(handle=handle, account_id=1)
        task = asyncio.create_task(batcher.run())
        for n in range(3):  # three reads in one turn, as a socket with queued frames gives
            batcher.put(b"frame-%d" % n, 10.0 + n)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        batcher.put(b"later", 20.0)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert (batcher.batches, batcher.frames, batcher.largest_batch) == (2, 4, 3)

    asyncio.run(scenario())
    assert calls == [([b"frame-0", b"frame-1", b"frame-2"], 12.0), ([b"later"], 20.0)]


def test_a_failing_batch_is_counted_and_dropped_and_a_run_of_them_is_raised() -> None:
    def handle(frames: Sequence[bytes], received_at: float) -> None:
        if frames[0] == b"bad":
            raise ValueError("pipeline bug")

    batcher = FrameBatcher(handle=handle, account_id=1)
    batcher.put(b"bad", 1.0)
    batcher.flush()
    batcher.put(b"good", 2.0)
    batcher.flush()
    assert batcher.failures == 1
    for _ in range(MAX_CONSECUTIVE_BATCH_FAILURES - 1):
        batcher.put(b"bad", 3.0)
        batcher.flush()
    batcher.put(b"bad", 4.0)
    with pytest.raises(ValueError, match="pipeline bug"):
        batcher.flush()
    assert batcher.failures == MAX_CONSECUTIVE_BATCH_FAILURES + 1
