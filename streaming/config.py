"""Worker configuration as plain frozen values, built once at the command's edge.

Nothing in `streaming` reads ``django.conf.settings`` except the management commands, the API
view and the health check (the edges); everything below them receives a `WorkerConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from greeks.engine import GreeksDefaults

# Exit codes of ``manage.py run_account`` (documented in docs/streaming.md).
EXIT_OK: Final = 0  # drained after SIGTERM/SIGINT
EXIT_FAILURE: Final = 1  # unexpected failure, or a task kept crashing (crash loop)
EXIT_USAGE: Final = 2  # bad arguments: unknown account id
EXIT_NEEDS_LOGIN: Final = 3  # Kite refused the access token (HTTP 403); account marked needs_login
EXIT_NOT_STREAMABLE: Final = 4  # disabled, or credentials unusable (marked error): no restart
EXIT_LEASE_HELD: Final = 5  # another worker holds the account's lease (it streams): no restart


class MockMode(StrEnum):
    """When the worker runs the simulator's market model in process instead of the Kite feed."""

    OFF = "off"
    AUTO = "auto"  # outside market hours
    ALWAYS = "always"


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """WebSocket feed behaviour of one account."""

    max_connections: int = 3
    tokens_per_connection: int = 3000
    watchdog_seconds: float = 10.0
    open_timeout_seconds: float = 10.0
    reconnect_initial_seconds: float = 0.5
    reconnect_max_seconds: float = 30.0
    rate_limited_seconds: float = 15.0  # extra wait after an HTTP 429 at the upgrade


@dataclass(frozen=True, slots=True)
class PublishConfig:
    """Where and how the worker publishes (docs/redis-contract.md)."""

    redis_url: str
    prefix: str = "ticker:nifty"
    options_stream_maxlen: int = 100_000
    bars_stream_maxlen: int = 10_000
    buffer_max_messages: int = 50_000  # ~3 KB each (PUBLISH + XADD): ~150 MB at most
    reconnect_initial_seconds: float = 0.2
    reconnect_max_seconds: float = 5.0


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """Everything one account worker needs besides its credentials."""

    account_id: int
    publish: PublishConfig
    feed: FeedConfig = field(default_factory=FeedConfig)
    greeks: GreeksDefaults = field(default_factory=GreeksDefaults)
    is_mock_feed: bool = False  # the account streams from the simulator: mark messages is_mock
    mock_mode: MockMode = MockMode.OFF
    mock_tick_seconds: float = 1.0
    mock_seed: int = 7
    heartbeat_seconds: float = 5.0
    reconcile_seconds: float = 60.0
    mode_check_seconds: float = 30.0
    drain_seconds: float = 5.0
    task_restart_initial_seconds: float = 0.5
    task_restart_max_seconds: float = 30.0
    task_crash_loop_limit: int = 20  # consecutive failures of one task before the process exits
