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
    CORRUPT_INSTRUMENTS = "corrupt_instruments"  # the dump's listed lines carry bad fields
    THROTTLE = "throttle"  # the next N historical requests answer 429, whatever the rate
    CORRUPT_CANDLES = "corrupt_candles"  # the next N historical answers carry bad candles
    CLEAR = "clear"  # undo stall/refuse/slow/malformed/corrupt_instruments/throttle


class CandleCorruption(StrEnum):
    NULL_CLOSE = "null_close"  # every 10th candle's close is null (kiteconnect passes it on)
    BAD_DATE = "bad_date"  # the first candle's time is not a date (kiteconnect's parser fails)


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
    corrupt_lines: tuple[int, ...] = ()  # 1-based CSV lines (the header is line 1)
    throttle_requests: int = 0  # historical requests still to answer 429
    throttled: int = 0  # 429s answered by the throttle fault (not by the rate limiter)
    corrupt_candle_answers: int = 0  # historical answers still to corrupt
    candle_corruption: CandleCorruption = CandleCorruption.NULL_CLOSE
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

    def take_throttle(self, api_key: str) -> bool:
        if self.throttle_requests > 0 and self.applies_to(api_key):
            self.throttle_requests -= 1
            self.throttled += 1
            return True
        return False

    def take_candle_corruption(self, api_key: str) -> CandleCorruption | None:
        if self.corrupt_candle_answers > 0 and self.applies_to(api_key):
            self.corrupt_candle_answers -= 1
            return self.candle_corruption
        return None

    def clear(self) -> None:
        self.stall_until = self.refuse_until = self.slow_seconds = 0.0
        self.malformed_frames = self.throttle_requests = self.corrupt_candle_answers = 0
        self.corrupt_lines = ()
        self.api_key = None


# Corruptions applied in turn to the listed lines: (column, bad value), or an extra column.
_CSV_CORRUPTIONS: tuple[tuple[str, str] | None, ...] = (
    ("strike", "NaN-ish"),
    ("lot_size", "-3"),
    ("expiry", "2026/12/29"),
    None,  # a 13th column
)


def corrupt_instruments_csv(text: str, lines: tuple[int, ...]) -> tuple[str, dict[int, str]]:
    """The dump with the listed lines broken in turn; returns the text and {line: column}.

    ``column`` is ``"*"`` for a row with the wrong number of columns. Lines beyond the dump
    are ignored.
    """
    rows = text.splitlines()
    header = rows[0].split(",")
    broken: dict[int, str] = {}
    for index, line_no in enumerate(lines):
        if not 2 <= line_no <= len(rows):
            continue
        corruption = _CSV_CORRUPTIONS[index % len(_CSV_CORRUPTIONS)]
        if corruption is None:
            rows[line_no - 1] += ",extra"
            broken[line_no] = "*"
            continue
        column, value = corruption
        cells = rows[line_no - 1].split(",")
        cells[header.index(column)] = value
        rows[line_no - 1] = ",".join(cells)
        broken[line_no] = column
    return "\n".join(rows) + "\n", broken


def corrupt_candles(rows: list[list[object]], kind: CandleCorruption) -> list[list[object]]:
    """Kite-shaped candle rows with bad values, for the fetcher's edge validation."""
    if kind is CandleCorruption.NULL_CLOSE:
        for row in rows[::10]:
            row[4] = None
    elif rows:
        rows[0][0] = "not-a-date"
    return rows
