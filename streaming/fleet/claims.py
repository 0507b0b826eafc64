"""Which free accounts a fleet claims now (pure): leases shared fairly between fleets.

Several fleets (hosts, or ``docker compose up --scale fleet=N``) see the same desired accounts.
A fleet claims a free account (no lease holder, not blocked here) when it has room
(``max_accounts``) and no other live fleet with room holds fewer accounts, so that fleets fill
up evenly and a fleet with fewer accounts claims first. An account that has stayed free for
``patience_seconds`` is claimed by any fleet with room, so an account is never left unstreamed
because the fleet that should take it is slow or gone. Two fleets that claim the same account
at once are settled by the lease itself: the child that loses exits 5; to make that rare, each
fleet walks the free accounts in its own order (a stable hash of fleet id and account id).
"""

from __future__ import annotations

import zlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PeerLoad:
    """Another live fleet, as its ``FleetRecord`` describes it."""

    fleet_id: str
    accounts: int
    max_accounts: int | None

    @property
    def has_room(self) -> bool:
        return self.max_accounts is None or self.accounts < self.max_accounts


def choose_claims(
    *,
    fleet_id: str,
    desired: Sequence[int],
    mine: Collection[int],
    excluded: Collection[int],
    held_elsewhere: Collection[int],
    free_since: Mapping[int, float],
    peers: Sequence[PeerLoad],
    max_accounts: int | None,
    now: float,
    patience_seconds: float,
) -> list[int]:
    """The accounts to start children for now."""
    held = len(mine)
    claims: list[int] = []
    for account_id in sorted(desired, key=lambda a: zlib.crc32(f"{fleet_id}:{a}".encode())):
        if account_id in mine or account_id in excluded or account_id in held_elsewhere:
            continue
        if max_accounts is not None and held + len(claims) >= max_accounts:
            break
        lighter_peer = any(p.has_room and p.accounts < held + len(claims) for p in peers)
        waited = now - free_since.get(account_id, now)
        if lighter_peer and waited < patience_seconds:
            continue
        claims.append(account_id)
    return claims
