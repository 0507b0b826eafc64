"""The client messages that take one connection from what it has to what it should have (pure).

Unchanged tokens are not touched, so they keep streaming through a reload. Messages are built
by `kite_wire.messages` exactly as kiteconnect writes them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from kite_wire.messages import build_mode, build_subscribe, build_unsubscribe

MODE_ORDER = ("ltp", "quote", "full")


def full_subscription(wanted: Mapping[int, str]) -> list[str]:
    """After a (re)connect: one subscribe with every token, then one mode message per mode."""
    if not wanted:
        return []
    return [build_subscribe(sorted(wanted)), *_mode_messages(wanted)]


def subscription_diff(have: Mapping[int, str], wanted: Mapping[int, str]) -> list[str]:
    """Unsubscribe what went, subscribe what came, and set modes that are new or changed."""
    messages: list[str] = []
    gone = sorted(token for token in have if token not in wanted)
    if gone:
        messages.append(build_unsubscribe(gone))
    new = sorted(token for token in wanted if token not in have)
    if new:
        messages.append(build_subscribe(new))
    changed = {
        token: mode for token, mode in wanted.items() if token not in have or have[token] != mode
    }
    messages.extend(_mode_messages(changed))
    return messages


def _mode_messages(tokens: Mapping[int, str]) -> list[str]:
    by_mode: dict[str, list[int]] = defaultdict(list)
    for token, mode in tokens.items():
        by_mode[mode].append(token)
    return [build_mode(mode, sorted(by_mode[mode])) for mode in MODE_ORDER if by_mode.get(mode)]
