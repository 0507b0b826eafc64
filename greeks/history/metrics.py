"""Prometheus counters of the historical fetch and enrichment (the default registry)."""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter

HISTORY_REQUESTS: Final = Counter(
    "ticker_history_requests",
    "Historical candle requests sent to Kite, by outcome (ok, http_429, token_exception, ...)",
    ["outcome"],
)
HISTORY_CANDLES: Final = Counter(
    "ticker_history_candles",
    "Historical candles by stage (fetched, bad, priced, stored)",
    ["stage"],
)
HISTORY_THREAD_CRASHES: Final = Counter(
    "ticker_history_fetch_thread_crashes",
    "Fetch threads that died of an unexpected error (re-raised in the caller)",
)
