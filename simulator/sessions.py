"""Simulated Kite accounts and their sessions: request tokens, access tokens, checksums.

Each account starts with a live access token (printed in the start-up JSON line) so tests can
stream at once; the login flow (``/connect/login`` -> ``/session/token``) issues more.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

REQUEST_TOKEN_TTL_SECONDS: Final = 300.0


@dataclass(frozen=True, slots=True)
class SimAccount:
    api_key: str
    api_secret: str
    user_id: str
    user_name: str
    initial_access_token: str


class SessionError(Exception):
    """A login step Kite would refuse with a TokenException."""


@dataclass
class SessionStore:
    """Who may call what: live access tokens per api_key and single-use request tokens."""

    accounts: dict[str, SimAccount]
    _access: dict[str, set[str]] = field(default_factory=dict)
    _request: dict[str, tuple[str, float]] = field(default_factory=dict)
    _rng: random.Random = field(default_factory=random.Random)

    @classmethod
    def create(cls, *, count: int, seed: int) -> SessionStore:
        rng = random.Random(seed)
        accounts: dict[str, SimAccount] = {}
        for number in range(1, count + 1):
            account = SimAccount(
                api_key=f"sim{number}{rng.getrandbits(40):010x}",
                api_secret=f"{rng.getrandbits(128):032x}",
                user_id=f"SM{number:04d}",
                user_name=f"Simulated User {number}",
                initial_access_token=f"{rng.getrandbits(128):032x}",
            )
            accounts[account.api_key] = account
        store = cls(accounts=accounts, _rng=rng)
        for account in accounts.values():
            store._access[account.api_key] = {account.initial_access_token}
        return store

    def is_valid(self, api_key: str, access_token: str) -> bool:
        return access_token in self._access.get(api_key, set())

    def issue_request_token(self, api_key: str, *, now: float) -> str:
        if api_key not in self.accounts:
            raise SessionError("Invalid `api_key`.")
        token = f"{self._rng.getrandbits(128):032x}"
        self._request[token] = (api_key, now + REQUEST_TOKEN_TTL_SECONDS)
        return token

    def exchange(self, *, api_key: str, request_token: str, checksum: str, now: float) -> str:
        """Trade a request token (single use, few minutes) for a new access token."""
        account = self.accounts.get(api_key)
        if account is None:
            raise SessionError("Invalid `api_key`.")
        issued = self._request.pop(request_token, None)
        if issued is None or issued[0] != api_key or issued[1] < now:
            raise SessionError("Token is invalid or has expired.")
        expected = hashlib.sha256(
            (api_key + request_token + account.api_secret).encode()
        ).hexdigest()
        if not hmac.compare_digest(expected, checksum):
            raise SessionError("Invalid `checksum`.")
        access_token = f"{self._rng.getrandbits(128):032x}"
        self._access.setdefault(api_key, set()).add(access_token)
        return access_token

    def invalidate(self, api_key: str, access_token: str) -> bool:
        tokens = self._access.get(api_key, set())
        if access_token in tokens:
            tokens.discard(access_token)
            return True
        return False

    def expire(self, api_key: str | None = None) -> int:
        """Kill every access token (of one key, or all), like the 06:00 IST expiry."""
        keys = [api_key] if api_key else list(self._access)
        killed = 0
        for key in keys:
            killed += len(self._access.get(key, set()))
            self._access[key] = set()
        return killed


def profile_of(account: SimAccount) -> dict[str, object]:
    """``/user/profile`` data, shaped like Kite's."""
    return {
        "user_id": account.user_id,
        "user_type": "individual",
        "email": f"{account.user_id.lower()}@example.invalid",
        "user_name": account.user_name,
        "user_shortname": account.user_name.split()[0],
        "broker": "ZERODHA",
        "exchanges": ["NSE", "NFO", "BSE", "BFO"],
        "products": ["CNC", "NRML", "MIS"],
        "order_types": ["MARKET", "LIMIT", "SL", "SL-M"],
        "avatar_url": None,
        "meta": {"demat_consent": "physical"},
    }


def session_of(
    account: SimAccount, *, access_token: str, login_time: datetime
) -> dict[str, object]:
    """``/session/token`` data, shaped like Kite's."""
    return {
        **profile_of(account),
        "api_key": account.api_key,
        "access_token": access_token,
        "public_token": access_token[:16],
        "refresh_token": "",
        "enctoken": "",
        "login_time": login_time.strftime("%Y-%m-%d %H:%M:%S"),
    }
