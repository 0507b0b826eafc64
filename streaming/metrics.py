"""Prometheus metrics of the account worker.

Served by ``run_account --metrics-port``, or, under the fleet, written to the fleet's
multiprocess directory and served by the fleet's ``/metrics`` (streaming/fleet/metrics_export.py).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

TICKS = Counter("streaming_ticks_total", "Ticks decoded", ["account", "kind"])
MALFORMED_PACKETS = Counter(
    "streaming_malformed_packets_total", "Packets skipped as malformed", ["account"]
)
RECONNECTS = Counter(
    "streaming_reconnects_total", "Feed reconnects by cause", ["account", "reason"]
)
FRAME_FAILURES = Counter(
    "streaming_frame_failures_total",
    "Frame batches whose processing raised (the batch is dropped, the connections kept)",
    ["account"],
)
FEED_TEXT_ERRORS = Counter(
    "streaming_feed_text_errors_total", "Text error frames from Kite", ["account"]
)
PUBLISH_DROPPED = Counter(
    "streaming_publish_dropped_total",
    "Messages dropped (oldest first) while Redis was unreachable",
    ["account"],
)
PUBLISHED = Counter("streaming_published_messages_total", "Messages written to Redis", ["account"])
TASK_RESTARTS = Counter(
    "streaming_task_restarts_total", "Supervised tasks restarted after a failure", ["task"]
)
RELOADS = Counter("streaming_reloads_total", "Subscription reloads run", ["account"])
CAPACITY_REJECTED = Gauge(
    "streaming_capacity_rejected_tokens",
    "Subscribed tokens that did not fit the account's connections",
    ["account"],
    multiprocess_mode="livesum",  # under the fleet: only live children count
)
PUBLISH_LATENCY = Histogram(
    "streaming_publish_latency_seconds",
    "From a frame's arrival to Redis confirming its messages",
    ["account"],
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0, 5.0),
)
