"""Every channel, stream and key the ticker publishes or reads in Redis (pure).

``prefix`` is ``TICKER_CHANNEL_PREFIX`` (default ``ticker:nifty``). See docs/redis-contract.md
for each name's type, writer and payload.
"""

from __future__ import annotations

from typing import Final

STREAM_DATA_FIELD: Final = "data"
"""The one field of a stream entry: a JSON array of that frame's messages."""


def options_channel(prefix: str) -> str:
    """Pub/sub channel: one message per option tick."""
    return f"{prefix}:options"


def options_stream(prefix: str) -> str:
    """Stream: one entry per frame, field ``data`` = the frame's option messages."""
    return f"{options_channel(prefix)}:stream"


def underlying_channel(prefix: str) -> str:
    """Pub/sub channel: one message per closed 1-minute bar of an underlying index."""
    return f"{prefix}:underlying"


def underlying_stream(prefix: str) -> str:
    """Stream: one entry per frame that closed bars, field ``data`` = those bar messages."""
    return f"{underlying_channel(prefix)}:stream"


def stream_of(channel: str) -> str:
    """The replay stream that goes with a published channel."""
    return f"{channel}:stream"


def latest_key(prefix: str) -> str:
    """Hash of latest snapshots, one field per instrument token (decimal string)."""
    return f"{prefix}:latest"


def control_channel(prefix: str) -> str:
    """Pub/sub channel of reload requests for the account workers (``contract.control``)."""
    return f"{prefix}:control"


def heartbeat_key(prefix: str, account_id: int) -> str:
    """String with TTL: one account worker's liveness and counters."""
    return f"{prefix}:heartbeat:{account_id}"


def heartbeat_pattern(prefix: str) -> str:
    """Glob over every worker's heartbeat key."""
    return f"{prefix}:heartbeat:*"


def lock_key(prefix: str, job: str) -> str:
    """Single-flight lock of a control-plane job (``SET NX EX``)."""
    return f"{prefix}:lock:{job}"


def history_rate_limit_key(prefix: str, api_key_digest: str) -> str:
    """Sorted set: grant times of one api_key's historical requests in the last window."""
    return f"{prefix}:history:ratelimit:{api_key_digest}"


def history_done_key(prefix: str, interval: str, instrument_token: int) -> str:
    """Set of IST days (``YYYY-MM-DD``) whose candles of this interval are fetched and stored."""
    return f"{prefix}:history:done:{interval}:{instrument_token}"


def published_channels(prefix: str) -> tuple[str, ...]:
    """The channels a consumer may subscribe to (``tail_ticks`` short names resolve here)."""
    return (options_channel(prefix), underlying_channel(prefix))


def registry_version_key(prefix: str) -> str:
    """String: a random token the control plane replaces after every committed change of
    subscriptions or instruments; readers that cache the registry (the chain API) compare it
    (docs/chain.md, "Registry cache")."""
    return f"{prefix}:registry:version"


def chain_oi_open_key(prefix: str, session: str) -> str:
    """Hash, one field per option token: its OI in the first snapshot the chain reader saw on
    ``session`` (an ISO date, Asia/Kolkata); written with HSETNX by the chain API, not by the
    workers (docs/chain.md)."""
    return f"{prefix}:chain:oi_open:{session}"
