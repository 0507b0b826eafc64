"""Kite REST client construction for an account: roots passed in, nothing built at import time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from accounts.crypto import CredentialCipher
from accounts.models import Account

if TYPE_CHECKING:
    from kiteconnect import KiteConnect


@dataclass(frozen=True)
class KiteRoots:
    """Where an account talks to Kite (or to the simulator)."""

    api_root: str
    ws_root: str
    login_url: str


def roots_for_account(account: Account, defaults: KiteRoots) -> KiteRoots:
    """The account's overrides where set, else the configured defaults."""
    return KiteRoots(
        api_root=account.api_root_override or defaults.api_root,
        ws_root=account.ws_root_override or defaults.ws_root,
        login_url=account.login_url_override or defaults.login_url,
    )


@dataclass(frozen=True)
class KiteClientFactory:
    """Builds ``KiteConnect`` clients for accounts; settings come from the caller."""

    cipher: CredentialCipher
    defaults: KiteRoots
    timeout_seconds: float = 7.0

    def roots(self, account: Account) -> KiteRoots:
        return roots_for_account(account, self.defaults)

    def api_key(self, account: Account) -> str:
        return self.cipher.decrypt(account.api_key_encrypted, account=account.name, field="api_key")

    def api_secret(self, account: Account) -> str:
        if not account.api_secret_encrypted:
            return ""
        return self.cipher.decrypt(
            account.api_secret_encrypted, account=account.name, field="api_secret"
        )

    def access_token(self, account: Account) -> str:
        if not account.access_token_encrypted:
            return ""
        return self.cipher.decrypt(
            account.access_token_encrypted, account=account.name, field="access_token"
        )

    def for_account(self, account: Account, *, with_token: bool = True) -> KiteConnect:
        """A client for ``account``; ``with_token=False`` for the login exchange."""
        # Imported here: the streaming worker reads credentials through this factory but never
        # calls Kite's REST API, and importing kiteconnect loads Twisted (its KiteTicker), ~20 MB
        # of RSS per worker (docs/fleet.md, "Benchmark").
        from kiteconnect import KiteConnect  # noqa: PLC0415

        return KiteConnect(
            api_key=self.api_key(account),
            access_token=(self.access_token(account) or None) if with_token else None,
            root=self.roots(account).api_root,
            timeout=self.timeout_seconds,
        )
