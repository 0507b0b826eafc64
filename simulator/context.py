"""What the simulator's servers share: the model, clock, sessions, faults, limits, connections."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Final, Protocol

from kite_wire.historical import HISTORICAL_REQUESTS_PER_SECOND
from market_model.clock import VirtualClock
from market_model.market import MarketModel
from simulator.faults import FaultState
from simulator.sessions import SessionStore

# Kite's per-api_key REST limits (requests per second).
QUOTE_PER_SECOND: Final = 1
HISTORICAL_PER_SECOND: Final = HISTORICAL_REQUESTS_PER_SECOND


class LiveConnection(Protocol):
    api_key: str

    def abort(self) -> None: ...

    def describe(self) -> dict[str, object]: ...


@dataclass(frozen=True, slots=True)
class SimulatorSettings:
    redirect_url: str | None = None
    rate_limits: bool = True
    tick_interval_seconds: float = 1.0
    heartbeat_seconds: float = 2.0
    stress: bool = False
    max_connections_per_key: int = 3
    max_tokens_per_connection: int = 3000
    packets_per_frame: int = 1000


class RateLimiter:
    """Rolling one-second windows per (api_key, bucket), on the wall clock.

    Counts what it allowed and refused per (api_key, bucket), so tests can assert that a client
    held the limit (``GET /_sim/state`` -> ``rate_limits``).
    """

    def __init__(self) -> None:
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self.allowed: dict[tuple[str, str], int] = {}
        self.refused: dict[tuple[str, str], int] = {}

    def allow(self, api_key: str, bucket: str, per_second: int) -> bool:
        now = time.monotonic()
        hits = self._hits.setdefault((api_key, bucket), deque())
        while hits and now - hits[0] >= 1.0:
            hits.popleft()
        if len(hits) >= per_second:
            self.refused[api_key, bucket] = self.refused.get((api_key, bucket), 0) + 1
            return False
        hits.append(now)
        self.allowed[api_key, bucket] = self.allowed.get((api_key, bucket), 0) + 1
        return True

    def counts(self) -> dict[str, dict[str, dict[str, int]]]:
        """``{api_key: {bucket: {"allowed": n, "refused": n}}}``."""
        out: dict[str, dict[str, dict[str, int]]] = {}
        for api_key, bucket in {*self.allowed, *self.refused}:
            out.setdefault(api_key, {})[bucket] = {
                "allowed": self.allowed.get((api_key, bucket), 0),
                "refused": self.refused.get((api_key, bucket), 0),
            }
        return out


@dataclass
class SimulatorContext:
    model: MarketModel
    clock: VirtualClock
    sessions: SessionStore
    settings: SimulatorSettings
    faults: FaultState = field(default_factory=FaultState)
    limiter: RateLimiter = field(default_factory=RateLimiter)
    connections: set[LiveConnection] = field(default_factory=set)

    def connections_of(self, api_key: str) -> int:
        return sum(1 for c in self.connections if c.api_key == api_key)
