"""The field names of every published message (pure; docs/redis-contract.md).

The producers (``streaming.pipeline``, ``streaming.worker``, ``contract.control``) and the
readers (``contract.snapshot``, ``tail_ticks``, ``run_demo``) use these names;
tests/contract/test_message_fields.py checks that what the producers write and what the
contract document lists are exactly these sets. Fields may be added, never renamed.
"""

from __future__ import annotations

from typing import Final

PRICE: Final = "price"
TS: Final = "ts"
IS_MOCK: Final = "is_mock"
INSTRUMENT_TOKEN: Final = "token"  # noqa: S105 (a field name, not a secret)
SYMBOL: Final = "symbol"
IV: Final = "iv"
RECEIVED_AT: Final = "received_at"

OPTION_FIELDS: Final = frozenset(
    {
        "symbol", "token", "tradingsymbol", "segment", "exchange", "strike", "expiry", "type",
        "lot_size", "tick_size", "price", "volume", "oi", "iv", "delta", "gamma", "theta",
        "vega", "ts", "is_mock", "rho", "underlying_price", "iv_error", "received_at",
    }
)  # fmt: skip
"""One option tick on ``{prefix}:options`` (and its ``{prefix}:latest`` snapshot)."""

FULL_MODE_FIELDS: Final = frozenset({"depth", "total_buy_quantity", "total_sell_quantity"})
"""Added to an option tick in full mode only."""

INDEX_TICK_FIELDS: Final = frozenset({"symbol", "token", "price", "ts", "is_mock", "received_at"})
"""An index's ``{prefix}:latest`` snapshot (index ticks are not published on a channel)."""

BAR_FIELDS: Final = frozenset(
    {"symbol", "open", "high", "low", "close", "volume", "ts", "is_mock", "token"}
)
"""One closed 1-minute bar on ``{prefix}:underlying``."""

RELOAD_FIELDS: Final = frozenset({"type", "account_ids", "reason", "ts"})
"""One reload request on ``{prefix}:control``."""

HEARTBEAT_FIELDS: Final = frozenset(
    {
        "account_id", "pid", "host", "state", "source", "connections", "tokens",
        "ticks_per_second", "last_tick_age_seconds", "errors", "reconnects",
        "malformed_packets", "dropped_messages", "buffered_messages", "rejected_tokens",
        "reloads", "is_mock", "ts",
    }
)  # fmt: skip
"""The JSON document at ``{prefix}:heartbeat:{account_id}``."""
