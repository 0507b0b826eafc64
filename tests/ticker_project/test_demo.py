"""``manage.py run_demo`` (what ``make demo`` runs) on embedded defaults: SQLite and an embedded
Redis under a private VAR_DIR, the simulator, Celery and the fleet (one worker per demo account).

Within 60 s a priced option tick is on Redis and ``tail_ticks`` prints ticks with IV and
Greeks; the admin and health answer; a killed worker is restarted by the fleet while the demo
runs on; SIGTERM stops everything (no process left) and the demo exits 0.
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


def _live_chain(session: requests.Session, base: str, underlying: str) -> dict | None:
    """The chain API's answer when every listed side of the chain is priced and fresh."""
    response = session.get(f"{base}/api/v1/chain/", params={"underlying": underlying}, timeout=10)
    if response.status_code != 200:
        return None
    body = response.json()
    sides = [side for row in body["rows"] for side in (row["ce"], row["pe"]) if side]
    live = sides and all(side["priced"] and not side["stale"] for side in sides)
    return body if live and not body["spot"]["stale"] else None


def _logged_in(base: str) -> requests.Session:
    session = requests.Session()
    login = f"{base}/admin/login/?next=/admin/"
    session.get(login, timeout=10)
    session.post(
        login,
        data={"username": "admin", "password": "admin-demo",
              "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": login}, timeout=10,
    )  # fmt: skip
    return session


def test_demo_runs_the_product_end_to_end_and_stops_cleanly(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    env = _demo_env(var_dir)
    port = _free_port()
    started = time.monotonic()
    demo = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "run_demo",
            "--port",
            str(port),
            "--seed",
            "3",
            "--fleet-metrics-port",
            str(_free_port()),
        ],
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
            # During NSE hours health is "down" (503) until a worker's heartbeat reports ticks
            # (every 5 s), which can come after the first priced tick: wait for it, bounded.
            try:
                health = requests.get(f"{base}/api/health/", timeout=5)
                if health.status_code == 200 or time.monotonic() > deadline:
                    break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.5)
        assert health.status_code == 200, health.text
        assert health.json()["checks"]["redis"]["status"] == "ok"
        assert requests.get(f"{base}/admin/login/", timeout=5).status_code == 200

        # Within 60 s of the start, a live chain for both underlyings (the page's data).
        assert any(f"{base}/admin/chain/NIFTY/" in line for line in output)
        assert any(f"{base}/admin/chain/BANKNIFTY/" in line for line in output)
        session = _logged_in(base)
        for underlying in ("NIFTY", "BANKNIFTY"):
            chain = _wait_for(
                lambda u=underlying: _live_chain(session, base, u),
                seconds=max(1.0, 60 - (time.monotonic() - started)),
            )
            assert chain["underlying"] == underlying and len(chain["rows"]) >= 10
            assert sum(row["is_atm"] for row in chain["rows"]) == 1
            assert chain["atm_iv"] is not None and chain["max_pain"] is not None

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

        # Killing one worker no longer stops the demo: the fleet starts another.
        fleet = _wait_for(lambda: _children(demo.pid, "run_fleet"))[0]
        workers = _wait_for(
            lambda: len(_children(fleet, "run_account")) == 3 and _children(fleet, "run_account")
        )
        os.kill(workers[0], signal.SIGKILL)
        _wait_for(lambda: len(set(_children(fleet, "run_account")) - {workers[0]}) == 3)
        assert demo.poll() is None
        everything = [fleet, *_children(fleet, "run_account"), *_children(demo.pid, "")]
    finally:
        demo.send_signal(signal.SIGTERM)
        try:
            code = demo.wait(timeout=60)
        finally:
            if demo.poll() is None:
                demo.kill()
    assert code == 0
    time.sleep(0.5)
    assert [pid for pid in everything if Path(f"/proc/{pid}").exists()] == []
    assert not (var_dir / "redis.sock").exists() or not _socket_answers(var_dir / "redis.sock")


def _socket_answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX) as s:
        try:
            s.connect(str(path))
        except OSError:
            return False
    return True


def _children(parent: int, marker: str) -> list[int]:
    """Live child processes of ``parent`` whose command line contains ``marker``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == parent and fields[0] != "Z" and marker in cmdline:
            found.append(int(stat.parent.name))
    return sorted(found)


def _wait_for(condition, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"condition not met within {seconds}s")
