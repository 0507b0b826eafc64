"""The fetch pool against the Kite simulator (a real ``run_simulator`` subprocess, real sockets).

Each test starts a private simulator, so its rate-limit counts (``GET /_sim/state`` ->
``rate_limits``: what it allowed and refused per api_key) belong to that test alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
import redis
from django.conf import settings
from kiteconnect import KiteConnect

from greeks.history.fetch import (
    FetchAccount,
    Fetched,
    FetchFailed,
    FetchJob,
    HistoricalFetchPool,
    SessionDead,
)
from greeks.history.rate_limit import HistoricalRateLimiter, rate_limit_key
from market_model.clock import IST
from tests.simulator_fixtures import REPO_ROOT, SimulatorHandle

pytestmark = pytest.mark.slow

NIFTY = 256265
PREFIX = "t10b"


def _accounts(sim: SimulatorHandle) -> list[FetchAccount]:
    return [
        FetchAccount(
            account_id=number,
            name=f"sim-{number}",
            client=KiteConnect(api_key=a.api_key, access_token=a.access_token, root=sim.api_root),
            limiter_key=rate_limit_key(PREFIX, a.api_key),
        )
        for number, a in enumerate(sim.accounts, start=1)
    ]


def _day_jobs(count: int) -> list[FetchJob]:
    end = datetime.now(IST).replace(microsecond=0)
    return [FetchJob(NIFTY, "day", end - timedelta(days=5 + i), end, key=i) for i in range(count)]


def _refused(sim: SimulatorHandle) -> dict[str, int]:
    limits = sim.control.state()["rate_limits"]
    return {key: buckets.get("historical", {}).get("refused", 0) for key, buckets in limits.items()}


def _allowed(sim: SimulatorHandle) -> int:
    limits = sim.control.state()["rate_limits"]
    return sum(b.get("historical", {}).get("allowed", 0) for b in limits.values())


def test_the_pool_spreads_requests_over_every_account_and_gets_no_429(
    simulator_factory: Callable[..., SimulatorHandle], redis_client: redis.Redis
) -> None:
    sim = simulator_factory("--accounts", "3")
    pool = HistoricalFetchPool(accounts=_accounts(sim), limiter=HistoricalRateLimiter(redis_client))
    outcomes = list(pool.run(_day_jobs(15)))
    assert all(isinstance(o, Fetched) for o in outcomes)
    fetched = [o for o in outcomes if isinstance(o, Fetched)]
    assert sorted(o.job.key for o in fetched) == list(range(15))  # type: ignore[type-var]
    assert {o.account_id for o in fetched} == {1, 2, 3}
    assert all(o.rows and o.requests == 1 for o in fetched)
    assert set(_refused(sim).values()) == {0}
    assert _allowed(sim) == 15


def test_two_processes_on_one_api_key_share_its_budget(
    simulator_factory: Callable[..., SimulatorHandle], redis_client: redis.Redis
) -> None:
    sim = simulator_factory("--accounts", "1")
    account = sim.accounts[0]
    argv = [sys.executable, "-m", "tests.greeks.history.fetch_probe", sim.api_root]
    argv += [account.api_key, account.access_token, settings.REDIS_URL, PREFIX, str(NIFTY), "4"]
    probes = [
        subprocess.Popen(
            argv, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True, env=os.environ.copy()
        )
        for _ in range(2)
    ]
    results = []
    for probe in probes:
        out, _ = probe.communicate(timeout=60)
        assert probe.returncode == 0, out
        results.append(json.loads(out.strip().splitlines()[-1]))
    # 8 requests at once on one api_key: over its 3/s unless both processes share one window.
    assert results == [{"fetched": 4, "requests": 4}, {"fetched": 4, "requests": 4}]
    assert _refused(sim) == {account.api_key: 0}
    assert _allowed(sim) == 8


def test_an_injected_429_is_retried_by_the_one_policy(
    simulator_factory: Callable[..., SimulatorHandle], redis_client: redis.Redis
) -> None:
    sim = simulator_factory("--accounts", "1")
    sim.control.fault("throttle", requests=1)
    pool = HistoricalFetchPool(accounts=_accounts(sim), limiter=HistoricalRateLimiter(redis_client))
    [outcome] = list(pool.run(_day_jobs(1)))
    assert isinstance(outcome, Fetched)
    assert outcome.requests == 2 and outcome.rows
    assert sim.control.state()["faults"]["throttled"] == 1


def test_a_refused_request_fails_with_its_reason_and_is_not_retried(
    simulator_factory: Callable[..., SimulatorHandle], redis_client: redis.Redis
) -> None:
    sim = simulator_factory("--accounts", "1")
    pool = HistoricalFetchPool(accounts=_accounts(sim), limiter=HistoricalRateLimiter(redis_client))
    end = datetime.now(IST).replace(microsecond=0)
    too_wide = FetchJob(NIFTY, "minute", end - timedelta(days=61), end)
    [outcome] = list(pool.run([too_wide]))
    assert isinstance(outcome, FetchFailed)
    assert (outcome.reason, outcome.requests) == ("InputException", 1)
    assert "60 days" in outcome.detail


def test_a_dead_session_moves_its_share_to_the_other_accounts(
    simulator_factory: Callable[..., SimulatorHandle], redis_client: redis.Redis
) -> None:
    sim = simulator_factory("--accounts", "3")
    sim.control.fault("expire_tokens", api_key=sim.accounts[0].api_key)
    pool = HistoricalFetchPool(accounts=_accounts(sim), limiter=HistoricalRateLimiter(redis_client))
    outcomes = list(pool.run(_day_jobs(9)))
    dead = [o for o in outcomes if isinstance(o, SessionDead)]
    fetched = [o for o in outcomes if isinstance(o, Fetched)]
    assert [d.account_id for d in dead] == [1]
    assert len(fetched) == 9 and {o.account_id for o in fetched} == {2, 3}


def test_when_every_session_is_dead_the_remaining_requests_fail_by_reason(
    simulator_factory: Callable[..., SimulatorHandle], redis_client: redis.Redis
) -> None:
    sim = simulator_factory("--accounts", "1")
    sim.control.fault("expire_tokens")
    pool = HistoricalFetchPool(accounts=_accounts(sim), limiter=HistoricalRateLimiter(redis_client))
    outcomes = list(pool.run(_day_jobs(3)))
    assert sum(isinstance(o, SessionDead) for o in outcomes) == 1
    failed = [o for o in outcomes if isinstance(o, FetchFailed)]
    assert [f.reason for f in failed] == ["no_healthy_account"] * 3
