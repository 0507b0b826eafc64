"""Fault injection state shared by the REST and WebSocket servers.

Set from the command line at start or through ``POST /_sim/faults``; see docs/simulator.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class FaultAction(StrEnum):
    DROP = "drop"  # abort WebSocket connections (unclean close, client sees 1006)
    STALL = "stall"  # keep sockets open, send nothing (no ticks, no heartbeats)
    MALFORMED = "malformed"  # next frames carry a bad packet among good ones
    EXPIRE_TOKENS = "expire_tokens"  # access tokens die: REST 403, WS upgrade 403
    REFUSE_CONNECTS = "refuse_connects"  # WS upgrades answer 503
    SLOW = "slow"  # delay every REST response and every WS send
    CLEAR = "clear"  # undo stall/refuse/slow/malformed


class MalformedKind(StrEnum):
    TRUNCATED = "truncated"  # frame cut inside its last packet
    WRONG_LENGTH = "wrong_length"  # a packet's length field larger than the packet
    UNKNOWN_LENGTH = "unknown_length"  # an extra packet of a length Kite never sends


@dataclass
class FaultState:
    stall_until: float = 0.0
    refuse_until: float = 0.0
    slow_seconds: float = 0.0
    malformed_frames: int = 0
    malformed_kind: MalformedKind = MalformedKind.UNKNOWN_LENGTH
    api_key: str | None = None  # None: faults apply to every account
    history: list[dict[str, object]] = field(default_factory=list)

    def applies_to(self, api_key: str) -> bool:
        return self.api_key is None or self.api_key == api_key

    def stalled(self, api_key: str, now: float) -> bool:
        return now < self.stall_until and self.applies_to(api_key)

    def refusing(self, api_key: str, now: float) -> bool:
        return now < self.refuse_until and self.applies_to(api_key)

    def take_malformed(self, api_key: str) -> MalformedKind | None:
        if self.malformed_frames > 0 and self.applies_to(api_key):
            self.malformed_frames -= 1
            return self.malformed_kind
        return None

    def clear(self) -> None:
        self.stall_until = self.refuse_until = self.slow_seconds = 0.0
        self.malformed_frames = 0
        self.api_key = None
