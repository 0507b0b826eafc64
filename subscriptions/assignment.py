"""Assignment of active subscriptions to healthy accounts: a pure function of plain values.

Rules (docs/control-plane.md):

- **Capacity.** An account streams at most ``capacity`` tokens (max_connections x
  instruments_per_connection). Its load is the number of *distinct tokens its worker streams*:
  its subscriptions plus the index token of every underlying its options need for pricing.
- **Underlying index.** A worker holding options of an underlying always streams that
  underlying's index too (the worker adds it:
  ``streaming.subscription_source.load_subscription_set``). The index costs one slot on every
  account that holds such options, unless that account already streams it as a subscription.
- **Sticky.** A subscription stays on its account while the account is healthy and within
  capacity. If the capacity shrank, the lowest subscription ids stay and the rest move.
- **Balanced.** Everything else (new, orphaned by an unhealthy account, overflow) goes to the
  account with the most free slots after paying its cost (ties: lower account id).
- **Shortfall.** What fits nowhere is reported in ``unassigned``; nothing is dropped.

No ORM, no Redis, no clock: ``subscriptions.services.assignment`` feeds it rows and writes back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class SubscriptionItem:
    """An active subscription as the assignment sees it."""

    subscription_id: int
    instrument_token: int
    current_account_id: int | None = None
    # The index token an option needs streamed beside it (None for non-options/unknown).
    index_token: int | None = None


@dataclass(frozen=True, slots=True)
class AccountSlot:
    """A healthy account and how many tokens it may stream."""

    account_id: int
    capacity: int


@dataclass(frozen=True, slots=True)
class AssignmentResult:
    # subscription id -> account id, for every assigned subscription
    assignments: dict[int, int]
    # subscription ids that fit nowhere (capacity short), in id order
    unassigned: list[int]
    # subscription id -> (old account, new account) for every change, None = unassigned
    changes: dict[int, tuple[int | None, int | None]]
    # account id -> distinct tokens its worker streams (subscriptions + needed indices)
    load: dict[int, int]
    # account id -> index tokens its worker streams beyond its own subscriptions
    extra_index_tokens: dict[int, frozenset[int]] = field(default_factory=dict)

    @property
    def affected_account_ids(self) -> frozenset[int]:
        """Accounts whose token set changed (old and new owners of every moved subscription)."""
        ids: set[int] = set()
        for old, new in self.changes.values():
            if old is not None:
                ids.add(old)
            if new is not None:
                ids.add(new)
        return frozenset(ids)


class _Bin:
    __slots__ = ("account_id", "capacity", "subscribed", "tokens")

    def __init__(self, slot: AccountSlot) -> None:
        self.account_id = slot.account_id
        self.capacity = slot.capacity
        self.tokens: set[int] = set()  # everything the worker streams
        self.subscribed: set[int] = set()  # tokens of its own subscriptions

    def cost(self, item: SubscriptionItem) -> int:
        cost = 0 if item.instrument_token in self.tokens else 1
        if (
            item.index_token is not None
            and item.index_token != item.instrument_token
            and item.index_token not in self.tokens
        ):
            cost += 1
        return cost

    def free(self) -> int:
        return self.capacity - len(self.tokens)

    def add(self, item: SubscriptionItem) -> None:
        self.tokens.add(item.instrument_token)
        self.subscribed.add(item.instrument_token)
        if item.index_token is not None:
            self.tokens.add(item.index_token)


def assign_subscriptions(
    subscriptions: Iterable[SubscriptionItem], accounts: Sequence[AccountSlot]
) -> AssignmentResult:
    """Assign every subscription to one healthy account within capacity, or report it."""
    bins = {slot.account_id: _Bin(slot) for slot in sorted(accounts, key=lambda a: a.account_id)}
    ordered = sorted(subscriptions, key=lambda s: s.subscription_id)
    assignments: dict[int, int] = {}
    pending: list[SubscriptionItem] = []

    # Sticky first, in id order, so a shrunken capacity keeps the oldest subscriptions.
    for item in ordered:
        home = bins.get(item.current_account_id) if item.current_account_id is not None else None
        if home is not None and home.cost(item) <= home.free():
            home.add(item)
            assignments[item.subscription_id] = home.account_id
        else:
            pending.append(item)

    # Then the rest, grouped by underlying so an account's index slot serves many options.
    pending.sort(key=lambda s: (s.index_token or 0, s.instrument_token))
    unassigned: list[int] = []
    candidates = list(bins.values())
    for item in pending:
        best: _Bin | None = None
        best_score = -1
        for candidate in candidates:
            cost = candidate.cost(item)
            score = candidate.free() - cost
            if score >= 0 and score > best_score:
                best, best_score = candidate, score
        if best is None:
            unassigned.append(item.subscription_id)
            continue
        best.add(item)
        assignments[item.subscription_id] = best.account_id

    changes: dict[int, tuple[int | None, int | None]] = {}
    for item in ordered:
        new = assignments.get(item.subscription_id)
        if new != item.current_account_id:
            changes[item.subscription_id] = (item.current_account_id, new)
    unassigned.sort()
    return AssignmentResult(
        assignments=assignments,
        unassigned=unassigned,
        changes=changes,
        load={b.account_id: len(b.tokens) for b in bins.values()},
        extra_index_tokens={
            b.account_id: frozenset(b.tokens - b.subscribed) for b in bins.values()
        },
    )
