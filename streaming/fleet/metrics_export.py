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
from prometheus_client.samples import Sample


class _HostCollector(Collector):
    """The children's merged metrics and the fleet's own, one family per name.

    A module that defines metrics can be imported by the fleet and by its children alike, so a
    name can come from both sides: the children's files may carry the supervisor's counters at
    0 and the fleet's registry the workers' at 0. Samples with the same name and labels are
    added (exact for counters and histograms; the children's gauges carry a ``pid`` label, so
    they never meet the fleet's), the rest are listed side by side. ``_created`` timestamps are
    not added: the earliest is kept.
    """

    def __init__(self, directory: Path) -> None:
        self._children = CollectorRegistry()
        multiprocess.MultiProcessCollector(self._children, path=str(directory))

    def collect(self) -> Iterator[Metric]:
        families: dict[str, Metric] = {}
        for metric in (*self._children.collect(), *REGISTRY.collect()):
            known = families.get(metric.name)
            if known is None:
                families[metric.name] = metric
            else:
                known.samples = _merged(known.samples, metric.samples)
        yield from families.values()


def _merged(first: list[Sample], second: list[Sample]) -> list[Sample]:
    merged = {(s.name, tuple(sorted(s.labels.items()))): s for s in first}
    for sample in second:
        key = (sample.name, tuple(sorted(sample.labels.items())))
        known = merged.get(key)
        if known is None:
            merged[key] = sample
        elif sample.name.endswith("_created"):
            merged[key] = known._replace(value=min(known.value, sample.value))
        else:
            merged[key] = known._replace(value=known.value + sample.value)
    return list(merged.values())


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
