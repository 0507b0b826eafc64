"""Capped exponential backoff with full jitter, the one reconnect/restart policy of the worker.

Pure apart from the random source, which is injectable for tests.
"""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    """Delays ``initial * 2**n`` capped at ``maximum``, each drawn uniformly from [d/2, d].

    ``reset()`` after a success so the next failure starts small again.
    """

    def __init__(
        self,
        *,
        initial: float,
        maximum: float,
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> None:
        if initial <= 0 or maximum < initial:
            raise ValueError(f"bad backoff bounds initial={initial} maximum={maximum}")
        self.initial = initial
        self.maximum = maximum
        self._uniform = uniform
        self.attempts = 0

    def next_delay(self) -> float:
        ceiling = min(self.maximum, self.initial * (2.0 ** min(self.attempts, 30)))
        self.attempts += 1
        return self._uniform(ceiling / 2.0, ceiling)

    def reset(self) -> None:
        self.attempts = 0
