"""Prometheus counters of the control plane (registered once, on import)."""

from __future__ import annotations

from prometheus_client import Counter

CONTROL_PUBLISH_FAILURES = Counter(
    "ticker_control_publish_failures_total",
    "Reload messages that could not be published on the control channel",
)
ASSIGNMENT_ENQUEUE_FAILURES = Counter(
    "ticker_assignment_enqueue_failures_total",
    "Assignment runs that could not be enqueued after a change (the minute beat repairs)",
)
REGISTRY_VERSION_WRITE_FAILURES = Counter(
    "ticker_registry_version_write_failures_total",
    "Registry versions not written after a change (the chain's registry cache lags up to its TTL)",
)
INSTRUMENT_BAD_ROWS = Counter(
    "ticker_instrument_bad_rows_total", "Rows of the instruments dump rejected at the edge"
)
SINGLE_FLIGHT_SKIPPED = Counter(
    "ticker_single_flight_skipped_total", "Runs skipped because another held the lock", ["job"]
)
