"""The pure cores: sharding, subscription diffs, bars, backoff, reload parsing and coalescing."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime

import numpy as np
import pytest

from streaming.backoff import Backoff
from streaming.control import ReloadCoalescer, parse_reload
from streaming.feed.sharding import shard_tokens
from streaming.feed.subscription_diff import full_subscription, subscription_diff
from streaming.pipeline.bars import BarAggregator
from streaming.pipeline.enrich import years_to_expiry


def test_shards_fill_connections_up_to_the_limit_and_reject_the_rest():
    wanted = {token: "full" for token in range(1, 8)}
    plan = shard_tokens(
        wanted, [], tokens_per_connection=3, max_connections=2, priority=frozenset({7})
    )
    assert [len(c) for c in plan.connections] == [3, 3]
    assert 7 in plan.connections[0]  # the index is placed first
    assert len(plan.rejected) == 1


def test_unchanged_tokens_stay_on_their_connection():
    current = [{1: "full", 2: "full"}, {3: "full"}]
    wanted = {1: "full", 3: "quote", 4: "full"}
    plan = shard_tokens(wanted, current, tokens_per_connection=2, max_connections=3)
    assert plan.connections[0] == {1: "full", 4: "full"} or plan.connections[1] == {
        3: "quote",
        4: "full",
    }
    assert 1 in plan.connections[0] and 3 in plan.connections[1]
    assert plan.rejected == []


def test_trailing_empty_connections_are_dropped():
    plan = shard_tokens({}, [{1: "full"}, {2: "full"}], tokens_per_connection=3, max_connections=3)
    assert plan.connections == []


def test_diff_sends_only_the_difference():
    have = {1: "full", 2: "quote", 3: "full"}
    wanted = {1: "full", 2: "full", 4: "ltp"}
    messages = [json.loads(m) for m in subscription_diff(have, wanted)]
    assert messages == [
        {"a": "unsubscribe", "v": [3]},
        {"a": "subscribe", "v": [4]},
        {"a": "mode", "v": ["ltp", [4]]},
        {"a": "mode", "v": ["full", [2]]},
    ]
    assert subscription_diff(wanted, wanted) == []


def test_full_subscription_is_one_subscribe_and_one_mode_per_mode():
    messages = [json.loads(m) for m in full_subscription({5: "full", 6: "quote", 7: "full"})]
    assert messages == [
        {"a": "subscribe", "v": [5, 6, 7]},
        {"a": "mode", "v": ["quote", [6]]},
        {"a": "mode", "v": ["full", [5, 7]]},
    ]


def test_bars_close_on_the_first_tick_of_the_next_minute():
    bars = BarAggregator()
    assert bars.update(9, 100.0, 60) is None
    assert bars.update(9, 103.0, 75) is None
    assert bars.update(9, 99.0, 90) is None
    assert bars.update(9, 101.0, 119) is None
    assert bars.update(9, 100.0, 50) is None  # late tick of a closed minute
    closed = bars.update(9, 102.0, 121)
    assert closed is not None
    assert (closed.start, closed.open, closed.high, closed.low, closed.close) == (
        60, 100.0, 103.0, 99.0, 101.0,
    )  # fmt: skip
    assert bars.open_bars[9].open == 102.0


def test_backoff_is_capped_and_jittered():
    backoff = Backoff(initial=1.0, maximum=8.0, uniform=lambda low, high: high)
    assert [backoff.next_delay() for _ in range(6)] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    backoff.reset()
    assert backoff.next_delay() == 1.0
    with pytest.raises(ValueError, match="bad backoff"):
        Backoff(initial=0, maximum=1)


def test_reload_messages_are_addressed():
    message = json.dumps({"type": "reload", "account_ids": [1, 3], "reason": "x"})
    assert parse_reload(message, account_id=3) == "x"
    assert parse_reload(message, account_id=2) is None
    assert parse_reload(json.dumps({"type": "reload", "account_ids": []}), account_id=9)
    assert parse_reload("not json", account_id=1) is None
    # Without its account_ids a message is malformed, not an order to reload every worker.
    assert parse_reload(json.dumps({"type": "reload"}), account_id=9) is None


def test_a_burst_of_reload_requests_runs_at_most_two_reloads():
    runs: list[str] = []

    async def scenario() -> None:
        async def reload(reason: str) -> None:
            runs.append(reason)
            await asyncio.sleep(0.05)

        coalescer = ReloadCoalescer(reload)
        task = asyncio.create_task(coalescer.run())
        coalescer.request("first")
        await asyncio.sleep(0.01)  # the first reload is running now
        for n in range(100):
            coalescer.request(f"burst-{n}")
        await asyncio.sleep(0.3)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert coalescer.requests == 101

    asyncio.run(scenario())
    assert len(runs) == 2


def test_trading_basis_skips_exchange_holidays():
    now = datetime(2026, 11, 23, 4, 0, tzinfo=UTC).timestamp()  # Monday 09:30 IST
    expiry = np.array(["2026-11-24"], dtype="datetime64[D]")  # Tuesday 15:30 IST
    args = {"now_epoch": np.array([now]), "expiry_epoch": np.array([0.0]), "expiry_day": expiry}
    without = years_to_expiry(**args, basis="trading")
    with_holiday = years_to_expiry(**args, basis="trading", holidays=[date(2026, 11, 24)])
    # A holiday on expiry day removes its whole 375-minute session from the time left.
    assert (without - with_holiday)[0] * 252 * 375 == pytest.approx(375, abs=1e-6)
