"""How the fleet's cost grows with accounts: ``run_fleet`` streaming 1, 2, 4 and 8 full accounts.

Each account subscribes a full account's worth of instruments (the ~9,000-instrument chain of
the simulator's market model, 3 connections of <= 3,000), fed at ~1 tick/s per instrument by the
paced feeder of ``pipeline_bench`` (frames every 10 ms per connection over real WebSockets),
running in its own process. The fleet and its children are the real commands on a private
PostgreSQL database (``ticker_fleet_bench``, created and dropped here) and a private
``redis-server``. Measured over a window after warm-up:

* aggregate messages/s published (the children's ``streaming_published_messages_total``,
  scraped from the fleet's one ``/metrics`` endpoint);
* latency from the feeder's send to the message's ``XADD`` on Redis: the feeder writes its send
  time (us) into each packet's volume, the worker publishes it unchanged, and the stream entry's
  id is Redis' clock at the ``XADD`` (ms resolution); sampled every 5 ms of the window;
* CPU seconds of the children per 10^5 ticks, and the largest child RSS.

Baseline, same run: one account; the ratio line is the per-account throughput at N accounts
over that at one (1.0 = cost grows linearly).

A last row runs the 8 accounts again with frames every 100 ms (300 ticks each instead of 30):
the same ticks per second in a tenth of the frames. The target is stated for the first cadence;
this row shows how much of the cost is per frame rather than per tick.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import redis

from benchmarks.bench_database import setup_bench_database, teardown
from benchmarks.pipeline_bench import REPO, _free_port, _PacedFeeder, _redis_server

BENCH_DATABASE = "ticker_fleet_bench"
# (seconds between a connection's frames, account counts): the target's cadence first; the
# second row measures the same 8 accounts with 10x fewer, 10x larger frames (Kite's real frame
# cadence is not measured: reference/kite-connect.md), to show what the per-frame costs weigh.
FULL: dict[str, Any] = {
    "feeds": ((0.01, (1, 2, 4, 8)), (0.1, (8,))),
    "warmup": 4.0,
    "window": 10.0,
    "instruments": None,
}
SMOKE: dict[str, Any] = {
    "feeds": ((0.01, (1,)),),
    "warmup": 0.5,
    "window": 1.5,
    "instruments": 300,
}
_VOLUME = re.compile(rb'"volume":(\d+)')
_CLK = os.sysconf("SC_CLK_TCK")


def _feeder_process(port_queue: Any, stop: Any, copies: int, interval: float) -> None:
    feeder = _PacedFeeder(interval=interval, stamp_volume=True, copies=copies)
    port_queue.put(feeder.port)
    event = threading.Event()
    thread = threading.Thread(target=feeder.serve_forever, args=(event,), daemon=True)
    thread.start()
    stop.wait()
    event.set()
    thread.join(timeout=5)


def _registry(copies: int, limit: int | None) -> list[list[int]]:
    """The feeder's universe as the instrument registry; each account's tokens (one copy each).

    An instrument is subscribed by one account at most, so every account gets its own full
    account's worth: copy ``n`` is a NIFTY-like and a BANKNIFTY-like chain (~9,000 instruments).
    """
    from datetime import UTC, datetime  # noqa: PLC0415

    from kite_wire.segments import INDICES, instrument_token  # noqa: PLC0415
    from subscriptions.models import Underlying  # noqa: PLC0415
    from subscriptions.services.instruments import instruments_upsert  # noqa: PLC0415

    feeder = _PacedFeeder(interval=0.01, copies=copies)  # the feeder process builds the same
    rows = list(feeder.model.universe.rows)
    instruments_upsert(rows=rows, now=datetime.now(UTC))
    for spec in feeder.model.config.underlyings:
        Underlying.objects.get_or_create(
            name=spec.name,
            defaults={
                "index_token": instrument_token(spec.index_exchange_token, INDICES),
                "index_tradingsymbol": spec.index_symbol, "strike_step": int(spec.strike_step),
            },
        )  # fmt: skip
    per_copy: list[list[int]] = []
    names = [spec.name for spec in feeder.model.config.underlyings]
    for copy in range(copies):
        group = set(names[2 * copy : 2 * copy + 2])
        tokens = [r.instrument_token for r in rows if r.segment != "INDICES" and r.name in group]
        per_copy.append(tokens[:limit] if limit else tokens)
    return per_copy


def _accounts(count: int, ws_root: str, tokens_per_account: list[list[int]]) -> list[int]:
    from accounts.models import Account, AccountStatus  # noqa: PLC0415
    from accounts.wiring import configured_cipher  # noqa: PLC0415
    from subscriptions.models import Instrument, Subscription  # noqa: PLC0415

    cipher = configured_cipher()
    Subscription.objects.all().delete()
    Account.objects.all().delete()
    # bulk_create: no availability events (they would enqueue Celery tasks on the shared broker).
    accounts = Account.objects.bulk_create(
        [
            Account(
                name=f"bench-{n}",
                api_key_encrypted=cipher.encrypt(f"key{n}"),
                access_token_encrypted=cipher.encrypt(f"token{n}"),
                status=AccountStatus.ACTIVE,
                ws_root_override=ws_root,
            )
            for n in range(count)
        ]
    )
    ids = dict(Instrument.objects.values_list("instrument_token", "pk"))
    Subscription.objects.bulk_create(
        [
            Subscription(instrument_id=ids[t], account=a, mode="full")
            for a, tokens in zip(accounts, tokens_per_account, strict=False)
            for t in tokens
        ],
        batch_size=5000,
    )
    return [a.pk for a in accounts]


def _child_pids(fleet_pid: int) -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == fleet_pid:
            pids.append(int(stat.parent.name))
    return pids


def _cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue  # restarted meanwhile: reported with the restarts on the result line
        total += int(fields[11]) + int(fields[12])
    return total / _CLK


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _scrape(port: int, prefix: str) -> float:
    """The sum of every sample whose line starts with ``prefix`` on the fleet's /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix)
    )


def _published(port: int) -> float:
    return _scrape(port, "streaming_published_messages_total{")


def _latencies_ms(client: redis.Redis, stream: str, start_ms: int, end_ms: int) -> np.ndarray:
    values = []
    for at in range(start_ms, end_ms, 5):
        entries: Any = client.xrange(stream, min=f"{at}-0", max="+", count=1)
        if not entries:
            break
        entry_id, fields = entries[0]
        added_us = int(entry_id.split(b"-")[0]) * 1000
        stamp = _VOLUME.search(fields[b"data"])
        if stamp is not None:
            # Both sides mod 2**32 us; signed, since the entry id's ms truncation can put
            # the XADD up to 1 ms "before" the send.
            delta = (added_us - int(stamp.group(1))) % 2**32
            values.append((delta - 2**32 if delta >= 2**31 else delta) / 1000.0)
    return np.array(values)


def _measure(count: int, sizes: dict[str, Any], env: dict[str, str], client: redis.Redis) -> dict:
    metrics_port = _free_port()
    log_file = Path(tempfile.gettempdir(), f"fleet_bench_{count}.log").open("wb")
    prefix = env["TICKER_CHANNEL_PREFIX"]
    fleet = subprocess.Popen(  # noqa: S603 - our own command
        [sys.executable, "manage.py", "run_fleet", "--metrics-port", str(metrics_port)],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log_file,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while len(client.keys(f"{prefix}:heartbeat:*")) < count or not _all_connected(
            client, prefix, count
        ):
            if time.monotonic() > deadline or fleet.poll() is not None:
                raise RuntimeError(f"the fleet did not stream {count} accounts within 90 s")
            time.sleep(0.5)
        time.sleep(sizes["warmup"])
        pids = _child_pids(fleet.pid)
        published0, cpu0, start_ms = _published(metrics_port), _cpu_seconds(pids), _redis_ms(client)
        time.sleep(sizes["window"])
        published1, cpu1, end_ms = _published(metrics_port), _cpu_seconds(pids), _redis_ms(client)
        rss = max(_rss_mb(pid) for pid in _child_pids(fleet.pid))
        restarts = _scrape(metrics_port, "fleet_child_restarts_total")
        latencies = _latencies_ms(client, f"{prefix}:options:stream", start_ms, end_ms)
    finally:
        fleet.send_signal(signal.SIGTERM)
        try:
            fleet.wait(timeout=30)
        except subprocess.TimeoutExpired:
            fleet.kill()
            fleet.wait()
        log_file.close()
        client.flushdb()
    published = published1 - published0
    return {
        "accounts": count, "rate": published / sizes["window"],
        "cpu_per_1e5": (cpu1 - cpu0) / max(1.0, published) * 1e5,
        "rss": rss, "p50": float(np.percentile(latencies, 50)) if latencies.size else float("nan"),
        "p99": float(np.percentile(latencies, 99)) if latencies.size else float("nan"),
        "samples": int(latencies.size), "restarts": int(restarts),
    }  # fmt: skip


def _all_connected(client: redis.Redis, prefix: str, count: int) -> bool:
    import orjson  # noqa: PLC0415

    raws = [client.get(k) for k in client.keys(f"{prefix}:heartbeat:*")]
    documents = [orjson.loads(r) for r in raws if r]
    return len(documents) >= count and all(d.get("connections", 0) >= 1 for d in documents)


def _redis_ms(client: redis.Redis) -> int:
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000


def _env(url: str) -> dict[str, str]:
    from django.db import connection  # noqa: PLC0415

    db = connection.settings_dict
    database_url = (
        f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    if db.get("PASSWORD"):
        database_url = database_url.replace(f"//{db['USER']}@", f"//{db['USER']}:{db['PASSWORD']}@")
    return {
        **os.environ, "DATABASE_URL": database_url, "REDIS_URL": url,
        "TICKER_CHANNEL_PREFIX": "bench", "STREAMING_FEED_IS_MOCK": "1",
        "STREAMING_MOCK_MODE": "off", "STREAMING_RECONCILE_SECONDS": "300", "LOG_LEVEL": "WARNING",
        "DB_CONN_MAX_AGE": "0",
    }  # fmt: skip


def run(smoke: bool) -> list[str]:
    sizes = SMOKE if smoke else FULL
    connection, old = setup_bench_database(BENCH_DATABASE, benchmark="fleet_bench")
    copies = max(max(counts) for _, counts in sizes["feeds"])
    results: list[dict[str, Any]] = []
    try:
        tokens = _registry(copies, sizes["instruments"])
        with _redis_server() as url:
            client = redis.Redis.from_url(url)
            env = _env(url)
            for interval, counts in sizes["feeds"]:
                with _feeder(copies, interval) as ws_root:
                    for count in counts:
                        _accounts(count, ws_root, tokens)
                        connection.close()
                        results.append({**_measure(count, sizes, env, client), "frames": interval})
            client.close()
    finally:
        teardown(connection, old)
    base = results[0]["rate"]
    return [
        f"fleet {r['accounts']} account(s) x {len(tokens[0]):,} instruments at ~1 tick/s, "
        f"frames every {r['frames'] * 1000:.0f} ms: "
        f"{r['rate']:,.0f} msgs/s published, send -> Redis p50 {r['p50']:.2f} ms "
        f"p99 {r['p99']:.2f} ms ({r['samples']} samples), "
        f"{r['cpu_per_1e5']:.2f} CPU s per 1e5 ticks, max child RSS {r['rss']:.0f} MB, "
        f"{r['restarts']} child restarts; "
        f"per-account throughput vs 1 account: {r['rate'] / r['accounts'] / base:.2f}x"
        for r in results
    ]


@contextmanager
def _feeder(copies: int, interval: float) -> Iterator[str]:
    """The paced feeder in its own process; yields its WebSocket root."""
    context = mp.get_context("spawn")
    port_queue, stop = context.Queue(), context.Event()
    process = context.Process(
        target=_feeder_process, args=(port_queue, stop, copies, interval), daemon=True
    )
    process.start()
    try:
        yield f"ws://127.0.0.1:{port_queue.get(timeout=60)}/"
    finally:
        stop.set()
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
