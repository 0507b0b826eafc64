"""Garbage-collector settings for a long-lived web process (called once it has loaded).

A request such as the option chain parses hundreds of JSON snapshots: tens of thousands of
short-lived containers, which with the default thresholds trigger a full (generation 2)
collection every few dozen requests, each walking the whole Django heap (~100 ms on this
machine, measured in benchmarks/chain_bench.py: it was the chain endpoint's p99). Freezing the
start-up heap moves it out of every later collection, and a higher young-generation threshold
makes collections rarer; reference cycles are still collected. ``run_account`` does the same
for the tick path (docs/streaming.md).
"""

from __future__ import annotations

import gc
from typing import Final

WEB_THRESHOLDS: Final = (20_000, 20, 100)


def freeze_startup_heap(thresholds: tuple[int, int, int] = WEB_THRESHOLDS) -> None:
    """Collect once, freeze what survives (imports, settings, URLconf), raise the thresholds."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*thresholds)
