"""One Prometheus scrape per host: the fleet's own metrics plus every child's (multiprocess).

The fleet gives its children ``PROMETHEUS_MULTIPROC_DIR`` (a fresh directory per fleet run), so
``prometheus_client`` in each ``run_account`` writes its counters, gauges and histograms to
memory-mapped files there instead of serving them itself; the fleet's ``/metrics`` merges those
files (``MultiProcessCollector``) with its own registry. Counters of children that died stay in
the sums (a restart does not reset ``streaming_ticks_total``); live-only gauges of a dead child
are dropped by ``mark_process_dead``. The directory is removed when the fleet stops.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, multiprocess, start_http_server
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector


class _HostCollector(Collector):
    """The children's merged metrics, then the fleet's own (a name appears once)."""

    def __init__(self, directory: Path) -> None:
        self._children = CollectorRegistry()
        multiprocess.MultiProcessCollector(self._children, path=str(directory))

    def collect(self) -> Iterator[Metric]:
        seen: set[str] = set()
        for metric in self._children.collect():
            seen.add(metric.name)
            yield metric
        for metric in REGISTRY.collect():
            if metric.name not in seen:
                yield metric


class FleetMetrics:
    """The multiprocess directory of one fleet run and the host's scrape endpoint."""

    def __init__(self, base_dir: str | None = None) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="fleet-metrics-", dir=base_dir))
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_HostCollector(self.directory))

    def child_env(self) -> dict[str, str]:
        return {"PROMETHEUS_MULTIPROC_DIR": str(self.directory)}

    def serve(self, port: int) -> None:
        start_http_server(port, registry=self.registry)

    def child_exited(self, pid: int) -> None:
        multiprocess.mark_process_dead(pid, str(self.directory))

    def close(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
