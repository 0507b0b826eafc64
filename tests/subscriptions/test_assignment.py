"""The pure assignment: capacity, stickiness, balance, underlying index slots, shortfall."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from subscriptions.assignment import (
    AccountSlot,
    AssignmentResult,
    SubscriptionItem,
    assign_subscriptions,
)

NIFTY_INDEX = 256265


def items(count: int, *, start: int = 1, index: int | None = None) -> list[SubscriptionItem]:
    return [
        SubscriptionItem(subscription_id=i, instrument_token=1000 + i, index_token=index)
        for i in range(start, start + count)
    ]


def test_new_subscriptions_are_balanced() -> None:
    result = assign_subscriptions(items(30), [AccountSlot(1, 100), AccountSlot(2, 100)])
    assert result.unassigned == []
    assert sorted(result.load.values()) == [15, 15]
    assert result.affected_account_ids == {1, 2}


def test_underlying_index_costs_one_slot_per_account_holding_options() -> None:
    result = assign_subscriptions(
        items(10, index=NIFTY_INDEX), [AccountSlot(1, 6), AccountSlot(2, 6)]
    )
    assert result.unassigned == []
    assert result.load == {1: 6, 2: 6}  # 5 options + the index on each
    assert result.extra_index_tokens == {1: {NIFTY_INDEX}, 2: {NIFTY_INDEX}}


def test_index_subscribed_itself_is_not_counted_twice() -> None:
    index_item = SubscriptionItem(
        subscription_id=100, instrument_token=NIFTY_INDEX, current_account_id=1
    )
    options = [
        SubscriptionItem(i, 1000 + i, current_account_id=1, index_token=NIFTY_INDEX)
        for i in range(1, 4)
    ]
    result = assign_subscriptions([index_item, *options], [AccountSlot(1, 4)])
    assert result.unassigned == []
    assert result.load == {1: 4}
    assert result.extra_index_tokens == {1: frozenset()}


def test_sticky_assignments_stay_and_unhealthy_accounts_are_emptied() -> None:
    first = assign_subscriptions(
        items(6), [AccountSlot(1, 10), AccountSlot(2, 10), AccountSlot(3, 10)]
    )
    current = [
        SubscriptionItem(
            i.subscription_id, i.instrument_token, first.assignments[i.subscription_id]
        )
        for i in items(6)
    ]
    # account 3 turns unhealthy: only its subscriptions move.
    second = assign_subscriptions(current, [AccountSlot(1, 10), AccountSlot(2, 10)])
    for item in current:
        if item.current_account_id != 3:
            assert second.assignments[item.subscription_id] == item.current_account_id
        else:
            assert second.assignments[item.subscription_id] in (1, 2)
    moved = {sid for sid, (old, _new) in second.changes.items() if old == 3}
    assert moved == {i.subscription_id for i in current if i.current_account_id == 3}
    assert 3 in second.affected_account_ids


def test_capacity_shortfall_is_reported_not_dropped() -> None:
    result = assign_subscriptions(items(12), [AccountSlot(1, 5), AccountSlot(2, 5)])
    assert len(result.assignments) == 10
    assert result.unassigned == [11, 12]  # the newest wait; nothing disappears
    assert result.load == {1: 5, 2: 5}


def test_shrunken_capacity_keeps_the_oldest_sticky() -> None:
    current = [SubscriptionItem(i, 1000 + i, current_account_id=1) for i in range(1, 6)]
    result = assign_subscriptions(current, [AccountSlot(1, 3), AccountSlot(2, 10)])
    assert [result.assignments[i] for i in (1, 2, 3)] == [1, 1, 1]
    assert [result.assignments[i] for i in (4, 5)] == [2, 2]


def test_no_accounts_means_everything_unassigned() -> None:
    result = assign_subscriptions(items(3), [])
    assert result.assignments == {}
    assert result.unassigned == [1, 2, 3]


# --- property: an account turning unhealthy never loses a subscription ------------------------

INDEX_TOKENS = [None, NIFTY_INDEX, 260105]


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[SubscriptionItem], list[AccountSlot], int]:
    n_accounts = draw(st.integers(min_value=1, max_value=5))
    accounts = [
        AccountSlot(account_id=a, capacity=draw(st.integers(min_value=1, max_value=40)))
        for a in range(1, n_accounts + 1)
    ]
    n_subs = draw(st.integers(min_value=0, max_value=120))
    subs = [
        SubscriptionItem(
            subscription_id=i,
            instrument_token=5000 + i,
            index_token=draw(st.sampled_from(INDEX_TOKENS)),
        )
        for i in range(1, n_subs + 1)
    ]
    failing = draw(st.integers(min_value=1, max_value=n_accounts))
    return subs, accounts, failing


def check_invariants(
    subs: list[SubscriptionItem], accounts: list[AccountSlot], result: AssignmentResult
) -> None:
    healthy = {a.account_id: a.capacity for a in accounts}
    ids = {s.subscription_id for s in subs}
    assigned, unassigned = set(result.assignments), set(result.unassigned)
    assert assigned | unassigned == ids  # nothing lost
    assert not assigned & unassigned  # nothing doubled
    for account_id in result.assignments.values():
        assert account_id in healthy
    # load = distinct tokens streamed (subscriptions + their indices), within capacity
    by_account: dict[int, set[int]] = {a: set() for a in healthy}
    for sub in subs:
        owner = result.assignments.get(sub.subscription_id)
        if owner is not None:
            by_account[owner].add(sub.instrument_token)
            if sub.index_token is not None:
                by_account[owner].add(sub.index_token)
    for account_id, tokens in by_account.items():
        assert len(tokens) == result.load[account_id] <= healthy[account_id]


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_unhealthy_account_loses_nothing_and_sticky_stay(
    scenario: tuple[list[SubscriptionItem], list[AccountSlot], int],
) -> None:
    subs, accounts, failing = scenario
    first = assign_subscriptions(subs, accounts)
    check_invariants(subs, accounts, first)
    current = [
        SubscriptionItem(
            s.subscription_id,
            s.instrument_token,
            first.assignments.get(s.subscription_id),
            s.index_token,
        )
        for s in subs
    ]
    survivors = [a for a in accounts if a.account_id != failing]
    second = assign_subscriptions(current, survivors)
    check_invariants(current, survivors, second)
    for sub in current:
        if sub.current_account_id is not None and sub.current_account_id != failing:
            assert second.assignments[sub.subscription_id] == sub.current_account_id
    # a rerun with nothing changed is a no-op
    settled = [
        SubscriptionItem(
            s.subscription_id,
            s.instrument_token,
            second.assignments.get(s.subscription_id),
            s.index_token,
        )
        for s in current
    ]
    assert assign_subscriptions(settled, survivors).changes == {}
