"""One Prometheus scrape per host: the fleet's children in multiprocess mode, plus the fleet.

``run_fleet`` calls ``HostMetrics.start`` once: it prepares a fresh ``PROMETHEUS_MULTIPROC_DIR``
(created empty, stale files of an earlier run removed), gives the environment the children need
(``child_env``: prometheus-client then keeps every child's counters, gauges and histograms in
mmapped files there), marks a child's files dead when it exits (``mark_dead``: its live gauges
disappear, its counters stay summed) and serves ``/metrics`` on one port with a
``MultiProcessCollector`` over the directory plus the fleet's own registry. ``close`` stops the
server and removes the directory. docs/metrics-scrape.md has the scrape config.

The fleet process itself does not set the variable: its own metrics (``fleet_*``) live in its
ordinary registry. A child run by hand (``run_account --metrics-port``) without the variable
serves its metrics itself, as before.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from wsgiref.simple_server import WSGIServer

import structlog
from prometheus_client import REGISTRY, CollectorRegistry, multiprocess, start_http_server
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

log = structlog.get_logger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess_dir(directory: Path | None = None) -> Path:
    """An empty directory for the children's metric files (an existing one is emptied)."""
    if directory is None:
        return Path(tempfile.mkdtemp(prefix="ticker-fleet-metrics-"))
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    return directory


class _ExcludingCollector(Collector):
    """The fleet's own registry, minus families the children's files already report.

    The fleet imports the worker's modules, so its registry holds empty ``streaming_*``
    families too; exporting them beside the children's would repeat a family name.
    """

    def __init__(self, registry: CollectorRegistry, children: Collector) -> None:
        self._registry = registry
        self._children = children

    def collect(self) -> Iterable[Metric]:
        taken = {metric.name for metric in self._children.collect()}
        return [m for m in self._registry.collect() if m.name not in taken]


def host_registry(
    directory: Path, fleet_registry: CollectorRegistry = REGISTRY
) -> CollectorRegistry:
    """A registry that reads every child's files in ``directory`` and the fleet's own metrics."""
    registry = CollectorRegistry(auto_describe=False)
    children = multiprocess.MultiProcessCollector(registry, path=str(directory))
    registry.register(_ExcludingCollector(fleet_registry, children))
    return registry


@dataclass
class HostMetrics:
    directory: Path
    server: WSGIServer | None = None
    thread: threading.Thread | None = None

    @classmethod
    def start(
        cls,
        *,
        port: int,
        addr: str = "0.0.0.0",  # noqa: S104 - a metrics endpoint scraped from outside
        directory: Path | None = None,
        fleet_registry: CollectorRegistry = REGISTRY,
    ) -> HostMetrics:
        """Prepare the directory and, when ``port`` is not 0, serve ``/metrics`` on it."""
        exported = cls(directory=prepare_multiprocess_dir(directory))
        if port:
            registry = host_registry(exported.directory, fleet_registry)
            exported.server, exported.thread = start_http_server(port, addr, registry=registry)
        log.info("fleet_metrics_started", port=port, directory=str(exported.directory))
        return exported

    @property
    def port(self) -> int | None:
        return self.server.server_port if self.server is not None else None

    def child_env(self) -> dict[str, str]:
        """What a child's environment needs so its metrics land in the directory."""
        # The child serves no port of its own: this host's endpoint reports it.
        return {MULTIPROC_ENV: str(self.directory), "STREAMING_METRICS_PORT": "0"}

    def mark_dead(self, pid: int) -> None:
        """A child exited: drop its live gauges (its counters stay in the sums)."""
        multiprocess.mark_process_dead(pid, path=str(self.directory))

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        shutil.rmtree(self.directory, ignore_errors=True)
