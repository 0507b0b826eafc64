"""Sharding an account's tokens over its WebSocket connections (pure).

Kite allows ``tokens_per_connection`` (3,000) instruments per connection and 3 connections per
api_key. A token that is still wanted stays on the connection it is on, so a reload touches
only the difference; new tokens fill the least-loaded connection that has room, opening a new
one only when the open ones are full. What does not fit is returned as ``rejected``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ShardPlan:
    """Per connection, the wanted ``{token: mode}``; tokens that did not fit the account."""

    connections: list[dict[int, str]]
    rejected: list[int]


def shard_tokens(
    wanted: Mapping[int, str],
    current: Sequence[Mapping[int, str]],
    *,
    tokens_per_connection: int,
    max_connections: int,
    priority: frozenset[int] = frozenset(),
) -> ShardPlan:
    """Assign ``wanted`` (token -> mode) to connections, keeping tokens where they are.

    ``current`` is what each connection holds now. ``priority`` tokens (the underlying indices
    the Greeks need) are placed first when capacity is short. Trailing empty connections are
    dropped; connections in the middle keep their slot (their index is their identity).
    """
    if tokens_per_connection < 1 or max_connections < 1:
        raise ValueError("tokens_per_connection and max_connections must be at least 1")
    plan: list[dict[int, str]] = [
        {token: wanted[token] for token in held if token in wanted} for held in current
    ]
    # Connections beyond the limit (the limit was lowered) give their tokens back.
    overflow = plan[max_connections:]
    plan = plan[:max_connections]
    placed = {token for connection in plan for token in connection}
    newcomers = [token for connection in overflow for token in connection]
    newcomers += [token for token in wanted if token not in placed and token not in newcomers]
    newcomers.sort(key=lambda token: (token not in priority, token))
    rejected: list[int] = []
    for token in newcomers:
        target = _least_loaded_with_room(plan, tokens_per_connection)
        if target is None and len(plan) < max_connections:
            plan.append({})
            target = len(plan) - 1
        if target is None:
            rejected.append(token)
            continue
        plan[target][token] = wanted[token]
    while plan and not plan[-1]:
        plan.pop()
    return ShardPlan(connections=plan, rejected=rejected)


def _least_loaded_with_room(plan: list[dict[int, str]], limit: int) -> int | None:
    best: int | None = None
    for index, connection in enumerate(plan):
        if len(connection) < limit and (best is None or len(connection) < len(plan[best])):
            best = index
    return best
