"""Garbage-collector settings for a long-lived web process (called once it has loaded).

Freezing the start-up heap (imports, settings, URLconf) moves it out of every later
collection: with it in, a full (generation 2) collection walked the whole Django heap, ~100 ms
on this machine, every few dozen chain requests (benchmarks/chain_bench.py). Reference cycles
are still collected.

The young-generation threshold is 2,000. Each request leaves ~175 containers in reference
cycles (Django's lazy ``request.user`` closure, DRF's view/response/renderer-context), freed
only by a collection, so a young collection's pause grows with the threshold: at 20,000 (this
module's earlier setting) the chain benchmark's 1,000 requests met 9 pauses of 10-20 ms, right
at its p99; at 2,000, ~106 pauses of ~1 ms and 5 generation-1 collections of 3-4 ms, for the
same total time (docs/chain.md). ``run_account`` sets its own thresholds for the tick path
(docs/streaming.md).
"""

from __future__ import annotations

import gc
from typing import Final

WEB_THRESHOLDS: Final = (2_000, 20, 100)


def freeze_startup_heap(thresholds: tuple[int, int, int] = WEB_THRESHOLDS) -> None:
    """Collect once, freeze what survives (imports, settings, URLconf), raise the thresholds."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*thresholds)
