"""The account's lease in Redis: who may stream an account (redis-py's ``Lock``).

The lease is the account's, not the fleet's: every ``run_account`` takes it before it streams
(a fleet's child and a hand-run worker alike) and renews it while it runs. The key is
``{prefix}:lease:account:{id}`` (streaming/fleet/state.py); its value, redis-py's lock token, is
the holder's ``LeaseHolder`` JSON (host, pid, fleet), so anyone can read who holds it.

redis-py's ``Lock`` does the atomic parts (``SET NX PX`` to take, a compare-and-set script to
renew, a compare-and-delete script to release); this module adds the renewal policy:

* renew every ``ttl/3``; after a Redis restart (the key is gone) take it again with the same
  token; if someone else holds it by then, the lease is *lost* (exit 5, another worker streams);
* when no renewal has succeeded for ``ttl - interval`` seconds (Redis unreachable), the worker
  must stop before the lease can expire, so two hosts never stream one account for longer than
  one TTL (exit 1: the fleet restarts it with backoff, and it streams again once it can hold the
  lease).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis
import redis.asyncio as aioredis
import structlog
from redis.asyncio.lock import Lock as AsyncLock
from redis.exceptions import LockError, LockNotOwnedError, RedisError
from redis.lock import Lock

from contract.fleet import LeaseHolder, account_lease_key, decode_lease_holder, encode

log = structlog.get_logger(__name__)


class LeaseLost(Exception):
    """Another worker now holds the account's lease."""

    def __init__(self, holder: LeaseHolder | None) -> None:
        super().__init__(f"the lease is held by {describe_holder(holder)}")
        self.holder = holder


class LeaseUnrenewable(Exception):
    """No renewal succeeded for too long: stop streaming before the lease expires."""


def describe_holder(holder: LeaseHolder | None) -> str:
    if holder is None:
        return "an unknown holder"
    where = f"pid {holder.pid} on {holder.host}"
    return f"{where} (fleet {holder.fleet_id})" if holder.fleet_id else f"{where} (by hand)"


def _holder_of(raw: bytes | str | None) -> LeaseHolder | None:
    if raw is None:
        return None
    try:
        return decode_lease_holder(raw)
    except (ValueError, TypeError):
        log.warning("lease_value_unreadable", value_length=len(raw))
        return None


@dataclass(frozen=True, slots=True)
class LeaseSpec:
    """What a worker needs to hold its account's lease."""

    prefix: str
    account_id: int
    holder: LeaseHolder
    ttl_seconds: float = 15.0

    @property
    def key(self) -> str:
        return account_lease_key(self.prefix, self.account_id)

    @property
    def renew_seconds(self) -> float:
        return self.ttl_seconds / 3.0


class AccountLease:
    """The worker's side: take, keep and release one account's lease (asyncio)."""

    def __init__(
        self,
        spec: LeaseSpec,
        client: aioredis.Redis,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.spec = spec
        self._client = client
        self._token = encode(spec.holder)
        self._lock = AsyncLock(
            client, spec.key, timeout=spec.ttl_seconds, thread_local=False,
            raise_on_release_error=False,
        )  # fmt: skip
        self._clock = clock
        self._renewed_at = 0.0
        self.held = False

    async def acquire(self) -> LeaseHolder | None:
        """Take the lease; None when taken, else the current holder (RedisError propagates)."""
        if await self._lock.acquire(blocking=False, token=self._token):
            self.held = True
            self._renewed_at = self._clock()
            log.info("lease_acquired", key=self.spec.key, ttl_seconds=self.spec.ttl_seconds)
            return None
        holder = _holder_of(await self._client.get(self.spec.key))
        # The key can expire between the two calls; report the holder as unknown then.
        return holder or LeaseHolder(host="?", pid=0, fleet_id=None)

    async def keep(self) -> None:
        """Forever: renew every ``ttl/3``; raise ``LeaseLost`` or ``LeaseUnrenewable``."""
        spec = self.spec
        while True:
            await asyncio.sleep(spec.renew_seconds)
            try:
                await self._renew()
            except (RedisError, OSError) as exc:
                silent = self._clock() - self._renewed_at
                log.warning(
                    "lease_renew_failed", key=spec.key, error=type(exc).__name__,
                    seconds_since_renewal=round(silent, 1),
                )  # fmt: skip
                if silent >= spec.ttl_seconds - spec.renew_seconds:
                    raise LeaseUnrenewable(
                        f"no lease renewal for {silent:.1f} s (ttl {spec.ttl_seconds:g} s)"
                    ) from exc

    async def _renew(self) -> None:
        try:
            await self._lock.reacquire()
        except LockNotOwnedError:
            # The key is gone (a Redis restart without persistence) or someone else took it.
            if not await self._lock.acquire(blocking=False, token=self._token):
                self.held = False
                raise LeaseLost(_holder_of(await self._client.get(self.spec.key))) from None
            log.warning("lease_retaken", key=self.spec.key)
        self._renewed_at = self._clock()

    async def release(self) -> None:
        """Give the lease up at once (drain), so another fleet can take the account."""
        if not self.held:
            return
        self.held = False
        try:
            await self._lock.do_release(self._token)
        except (LockError, RedisError, OSError) as exc:
            # It expires by itself within one TTL; nothing else to do.
            log.warning("lease_release_failed", key=self.spec.key, error=type(exc).__name__)
        else:
            log.info("lease_released", key=self.spec.key)


def lease_holders(
    client: redis.Redis, prefix: str, account_ids: list[int]
) -> dict[int, LeaseHolder]:
    """The current holder of each account's lease that is held (one MGET)."""
    if not account_ids:
        return {}
    raws = client.mget([account_lease_key(prefix, account_id) for account_id in account_ids])
    holders: dict[int, LeaseHolder] = {}
    for account_id, raw in zip(account_ids, raws, strict=True):
        holder = _holder_of(raw)
        if holder is not None:
            holders[account_id] = holder
    return holders


def lease_break_dead_holder(
    client: redis.Redis, prefix: str, account_id: int, holder: LeaseHolder
) -> bool:
    """Delete the lease iff ``holder`` (a process this fleet knows is dead) still holds it.

    A SIGKILLed child cannot release its lease; its parent, which reaped it, frees it at once
    instead of waiting for the TTL. redis-py's compare-and-delete keeps this safe when the
    lease has meanwhile passed to someone else.
    """
    lock = Lock(client, account_lease_key(prefix, account_id), thread_local=False)
    try:
        lock.do_release(encode(holder).decode())
    except LockNotOwnedError:
        return False
    return True
