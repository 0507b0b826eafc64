"""The shared historical limiter on a real Redis: slots per api_key, held in flight until the
response is back, then for one window (values computed by the script, not timings)."""

from __future__ import annotations

import redis

from greeks.history.rate_limit import IN_FLIGHT_SECONDS, HistoricalRateLimiter, rate_limit_key


def test_three_slots_per_api_key_held_in_flight_then_for_one_window(
    redis_client: redis.Redis,
) -> None:
    limiter = HistoricalRateLimiter(redis_client, window_seconds=1.05)
    key, other = rate_limit_key("t", "api-key-one"), rate_limit_key("t", "api-key-two")
    members = [limiter.acquire(key) for _ in range(3)]
    assert len(set(members)) == 3
    # All three in flight: the fourth waits for a response, however long the window ago.
    assert limiter.try_acquire(key, "fourth") > IN_FLIGHT_SECONDS - 5
    assert limiter.try_acquire(other, "elsewhere") == 0.0  # each api_key its own budget
    limiter.release(key, members[0])
    # One response is back: its slot frees one window after it.
    assert 0 < limiter.try_acquire(key, "fourth") <= 1.05
    assert redis_client.zcard(key) == 3


def test_the_key_names_a_digest_never_the_api_key() -> None:
    name = rate_limit_key("ticker:nifty", "kite-api-key-1234")
    assert name.startswith("ticker:nifty:history:ratelimit:")
    assert "kite-api-key-1234" not in name
    assert name == rate_limit_key("ticker:nifty", "kite-api-key-1234")
