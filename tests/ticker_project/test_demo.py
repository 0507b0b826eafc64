"""``manage.py run_demo`` (what ``make demo`` runs) on embedded defaults: SQLite and an embedded
Redis under a private VAR_DIR, the simulator, Celery and one worker per demo account.

Within 60 s a priced option tick is on Redis and ``tail_ticks`` prints ticks with IV and
Greeks; the admin and health answer; SIGTERM stops everything and the demo exits 0.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _demo_env(var_dir: Path) -> dict[str, str]:
    drop = {"DATABASE_URL", "REDIS_URL", "LOG_FORMAT"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update({"DEBUG": "1", "VAR_DIR": str(var_dir), "LOG_FORMAT": "json"})
    return env


def _wait_for_line(process: subprocess.Popen[str], marker: str, seconds: float) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + seconds
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                break
            continue
        seen.append(line.rstrip())
        if marker in line:
            return seen
    raise AssertionError(f"no {marker!r} within {seconds}s; output:\n" + "\n".join(seen[-40:]))


def test_demo_runs_the_product_end_to_end_and_stops_cleanly(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    env = _demo_env(var_dir)
    port = _free_port()
    demo = subprocess.Popen(
        [sys.executable, "manage.py", "run_demo", "--port", str(port), "--seed", "3"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        output = _wait_for_line(demo, "First priced option tick", 90)
        assert any("Ticker fleet demo is running" in line for line in output)
        assert (var_dir / "db.sqlite3").exists()
        assert (var_dir / "redis.sock").exists()

        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                health = requests.get(f"{base}/api/health/", timeout=5)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        assert health.status_code == 200, health.text
        assert health.json()["checks"]["redis"]["status"] == "ok"
        assert requests.get(f"{base}/admin/login/", timeout=5).status_code == 200

        tail = subprocess.run(
            [sys.executable, "manage.py", "tail_ticks", "--count", "5"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        ticks = [json.loads(line) for line in tail.stdout.splitlines() if line.strip()]
        assert len(ticks) == 5
        for tick in ticks:
            assert tick["is_mock"] is True
            assert {"iv", "delta", "gamma", "theta", "vega", "price", "tradingsymbol"} <= set(tick)
        assert any(tick["iv"] is not None and 0.03 < tick["iv"] < 1.5 for tick in ticks)
    finally:
        demo.send_signal(signal.SIGTERM)
        try:
            code = demo.wait(timeout=60)
        finally:
            if demo.poll() is None:
                demo.kill()
    assert code == 0
    assert not (var_dir / "redis.sock").exists() or not _socket_answers(var_dir / "redis.sock")


def _socket_answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX) as s:
        try:
            s.connect(str(path))
        except OSError:
            return False
    return True
