"""Which accounts should stream but have not for a while (pure; docs/fleet.md).

An account that may stream (the ``accounts_streamable`` rule) but whose worker has not been seen
streaming for ``grace_seconds`` (hung, crash-looping, its host gone and no fleet able to take
it) is made unavailable to the assignment, so its instruments move to accounts that stream; it
is available again as soon as its worker streams.

"Streaming" is read off the worker's heartbeat (docs/redis-contract.md): present, written within
its TTL, and either holding no tokens, in mock mode, or with at least one feed connection up.
The clock of each account is kept by the caller (a Redis hash of "last seen streaming" epochs);
an account seen for the first time starts its clock then, so a newly logged-in account gets the
full grace period to start.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class AvailabilityVerdict:
    unavailable: frozenset[int]
    last_streaming: dict[int, float]  # the new value of every candidate's clock


def heartbeat_is_streaming(document: Mapping[str, Any] | None, *, now: float, ttl: float) -> bool:
    """True when a worker heartbeat says the account streams now."""
    if not document:
        return False
    ts = document.get("ts")
    if not isinstance(ts, int | float) or now - ts > ttl:
        return False
    if document.get("state") == "stopping":
        return False
    return (
        not document.get("tokens")
        or document.get("source") == "mock"
        or bool(document.get("connections"))
    )


def accounts_not_streaming(
    *,
    candidates: Iterable[int],
    streaming_now: frozenset[int],
    last_streaming: Mapping[int, float],
    now: float,
    grace_seconds: float,
) -> AvailabilityVerdict:
    """The candidates whose last sign of streaming is older than ``grace_seconds``."""
    clocks: dict[int, float] = {}
    unavailable: set[int] = set()
    for account_id in candidates:
        seen = now if account_id in streaming_now else last_streaming.get(account_id, now)
        clocks[account_id] = seen
        if now - seen > grace_seconds:
            unavailable.add(account_id)
    return AvailabilityVerdict(unavailable=frozenset(unavailable), last_streaming=clocks)
