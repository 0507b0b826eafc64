"""The fleet's pure parts: the exit-code policy, the claim choice, the streaming availability."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from streaming.fleet.claims import PeerLoad, choose_claims
from streaming.fleet.exit_policy import decide_after_exit, exit_reason
from subscriptions.streaming_availability import accounts_not_streaming, heartbeat_is_streaming


@pytest.mark.parametrize(
    ("code", "asked", "action", "state"),
    [
        (0, True, "stopped", "stopped"),
        (-signal.SIGKILL, True, "stopped", "stopped"),
        (0, False, "restart", "backoff"),
        (1, False, "restart", "backoff"),
        (1, True, "restart", "backoff"),  # failed while draining: still a failure
        (-signal.SIGKILL, False, "restart", "backoff"),
        (-signal.SIGSEGV, False, "restart", "backoff"),
        (2, False, "wait_for_change", "error"),
        (4, False, "wait_for_change", "error"),
        (3, False, "wait_for_login", "needs_login"),
        (5, False, "release", "stopped"),
        (77, False, "restart", "backoff"),
    ],
)
def test_exit_codes_follow_the_contract(code, asked, action, state):
    decision = decide_after_exit(code, stop_requested=asked)
    assert (decision.action, decision.state) == (action, state)


def test_exit_reasons_name_signals_and_codes():
    assert exit_reason(-signal.SIGKILL) == "killed by SIGKILL"
    assert exit_reason(3) == "Kite refused the access token (needs login)"
    assert exit_reason(42) == "exited 42"


def _claims(**overrides):
    arguments: dict[str, Any] = {
        "fleet_id": "a", "desired": [1, 2, 3, 4], "mine": [], "excluded": set(),
        "held_elsewhere": set(), "free_since": {}, "peers": [], "max_accounts": None,
        "now": 100.0, "patience_seconds": 10.0,
    }  # fmt: skip
    arguments.update(overrides)
    return choose_claims(**arguments)


def test_a_lone_fleet_claims_every_free_account_within_its_limit():
    assert sorted(_claims()) == [1, 2, 3, 4]
    assert len(_claims(max_accounts=3)) == 3
    assert _claims(mine=[1, 2], max_accounts=2) == []
    assert sorted(_claims(held_elsewhere={2}, excluded={3})) == [1, 4]


def test_a_lighter_peer_claims_first_until_the_account_waited_its_patience():
    lighter = [PeerLoad("b", accounts=0, max_accounts=None)]
    # We hold one already and the peer none: we leave the free ones to it ...
    assert _claims(desired=[2, 3], mine=[1], peers=lighter) == []
    # ... unless the peer is full, or the account has been free for the patience.
    full = [PeerLoad("b", accounts=0, max_accounts=0)]
    assert sorted(_claims(desired=[2, 3], mine=[1], peers=full)) == [2, 3]
    waited = {2: 80.0, 3: 95.0}
    assert _claims(desired=[2, 3], mine=[1], peers=lighter, free_since=waited) == [2]


def test_equal_fleets_walk_free_accounts_in_different_orders():
    desired = list(range(1, 21))
    first = _claims(fleet_id="fleet-a", desired=desired)
    second = _claims(fleet_id="fleet-b", desired=desired)
    assert sorted(first) == sorted(second) == desired
    assert first != second


def test_a_heartbeat_streams_when_fresh_and_connected_or_idle_or_mock():
    base = {"ts": 100.0, "tokens": 10, "connections": 1, "source": "kite", "state": "running"}
    assert heartbeat_is_streaming(base, now=101.0, ttl=15)
    assert not heartbeat_is_streaming(base, now=120.0, ttl=15)  # older than its TTL
    assert not heartbeat_is_streaming({**base, "connections": 0}, now=101.0, ttl=15)
    assert heartbeat_is_streaming({**base, "connections": 0, "tokens": 0}, now=101.0, ttl=15)
    assert heartbeat_is_streaming({**base, "connections": 0, "source": "mock"}, now=101, ttl=15)
    assert not heartbeat_is_streaming({**base, "state": "stopping"}, now=101.0, ttl=15)
    assert not heartbeat_is_streaming(None, now=101.0, ttl=15)


def test_accounts_become_unavailable_after_the_grace_and_return_when_they_stream():
    # Account 1 streams; 2 was last seen at 30; 3 is seen for the first time (its clock starts).
    verdict = accounts_not_streaming(
        candidates=[1, 2, 3], streaming_now=frozenset({1}), last_streaming={1: 10.0, 2: 30.0},
        now=100.0, grace_seconds=60.0,
    )  # fmt: skip
    assert verdict.unavailable == {2}
    assert verdict.last_streaming == {1: 100.0, 2: 30.0, 3: 100.0}
    back = accounts_not_streaming(
        candidates=[2], streaming_now=frozenset({2}), last_streaming={2: 30.0}, now=101.0,
        grace_seconds=60.0,
    )  # fmt: skip
    assert back.unavailable == frozenset()
