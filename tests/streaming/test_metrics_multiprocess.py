"""One scrape per host: two child processes' streaming metrics through the fleet's endpoint.

First with small Python child processes that import ``streaming.metrics`` with the environment
``FleetMetrics.child_env`` gives (prometheus-client multiprocess mode), then with ``run_fleet``
and two real ``run_account`` children streaming from the simulator; the endpoint is scraped over
HTTP.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from prometheus_client import REGISTRY, Counter
from prometheus_client.parser import text_string_to_metric_families

from streaming.fleet.metrics_export import FleetMetrics
from tests.streaming.fleet_helpers import fleet_env, run_fleet
from tests.streaming.helpers import (
    free_port,
    load_simulator_instruments,
    options_near_money,
    simulator_account,
    subscribe,
)

CHILD = """
import sys
from streaming import metrics
account = sys.argv[1]
metrics.TICKS.labels(account=account, kind="option").inc(int(sys.argv[2]))
metrics.RECONNECTS.labels(account=account, reason="read_timeout").inc()
metrics.CAPACITY_REJECTED.labels(account=account).set(int(sys.argv[3]))
metrics.PUBLISH_LATENCY.labels(account=account).observe(0.002)
print("ready", flush=True)
sys.stdin.readline()  # stay alive (live gauges) until the test closes stdin
"""


def _scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _child(env: dict[str, str], account: str, ticks: int, rejected: int) -> subprocess.Popen[str]:
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [sys.executable, "-c", CHILD, account, str(ticks), str(rejected)],
        env={**os.environ, **env, "PYTHONPATH": str(root)},
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


def test_one_endpoint_reports_every_child_and_the_fleet(tmp_path):
    # The fleet's own registry is the process's default one (fleet_metrics registers there).
    restarts = Counter("test_fleet_own_restarts_total", "restarts")
    restarts.inc(3)
    exported = FleetMetrics(str(tmp_path))
    port = free_port()
    exported.serve(port)
    children = [
        _child(exported.child_env(), "1", 10, 5),
        _child(exported.child_env(), "2", 7, 0),
    ]
    try:
        samples = _scrape(port)
        ticks = "streaming_ticks_total"
        assert samples[(ticks, (("account", "1"), ("kind", "option")))] == 10
        assert samples[(ticks, (("account", "2"), ("kind", "option")))] == 7
        reconnect = ("account", "1"), ("reason", "read_timeout")
        assert samples[("streaming_reconnects_total", reconnect)] == 1
        assert samples[("streaming_capacity_rejected_tokens", (("account", "1"),))] == 5
        assert samples[("streaming_publish_latency_seconds_count", (("account", "2"),))] == 1
        assert samples[("test_fleet_own_restarts_total", ())] == 3

        # Child 1 exits: the fleet marks it dead; its live gauge goes, its counters stay.
        first = children[0]
        assert first.stdin is not None
        first.stdin.close()
        assert first.wait(timeout=10) == 0
        exported.child_exited(first.pid)
        after = _scrape(port)
        assert ("streaming_capacity_rejected_tokens", (("account", "1"),)) not in after
        assert after[("streaming_capacity_rejected_tokens", (("account", "2"),))] == 0
        assert after[(ticks, (("account", "1"), ("kind", "option")))] == 10
    finally:
        for child in children:
            if child.poll() is None:
                assert child.stdin is not None
                child.stdin.close()
                child.wait(timeout=10)
        exported.close()
        REGISTRY.unregister(restarts)
    assert not exported.directory.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_run_fleet_serves_its_children_s_metrics_from_one_port(simulator_factory, redis_client):
    """Two real ``run_account`` children under ``run_fleet``: one scrape shows both."""
    sim = simulator_factory("--accounts", "2", "--seed", "7")
    instruments = load_simulator_instruments(sim)
    first, second = (simulator_account(sim, c) for c in sim.accounts[:2])
    options = options_near_money(instruments, count=10)
    subscribe(first, options[:5])
    subscribe(second, options[5:])
    port = free_port()
    wanted = {str(first.pk), str(second.pk)}

    def ticking_accounts() -> set[str]:
        try:
            samples = _scrape(port)
        except OSError:
            return set()
        return {
            dict(labels)["account"]
            for (name, labels), value in samples.items()
            if name == "streaming_ticks_total" and value > 0
        }

    with run_fleet(fleet_env(redis_url=settings.REDIS_URL), "--metrics-port", str(port)) as fleet:
        fleet.wait_for(lambda: wanted <= ticking_accounts(), timeout=40)
        samples = _scrape(port)
        assert samples[("fleet_children", (("state", "running"),))] == 2
        assert fleet.stop() == 0
