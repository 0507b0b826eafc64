"""The edge where the accounts app reads Django settings and builds its collaborators.

Views, admin, commands and tasks call these; services below them receive the objects.
"""

from __future__ import annotations

import functools

from django.conf import settings

from accounts.crypto import CredentialCipher
from accounts.kite_client import KiteClientFactory, KiteRoots


@functools.cache
def _cipher_for(keys: tuple[str, ...]) -> CredentialCipher:
    return CredentialCipher.from_keys(keys)


def configured_cipher() -> CredentialCipher:
    """The cipher of the configured keys, built once per key list (not per row or request)."""
    return _cipher_for(tuple(settings.CREDENTIALS_KEYS))


def configured_kite_roots() -> KiteRoots:
    return KiteRoots(
        api_root=settings.KITE_API_ROOT,
        ws_root=settings.KITE_WS_ROOT,
        login_url=settings.KITE_LOGIN_URL,
    )


def configured_kite_factory() -> KiteClientFactory:
    return KiteClientFactory(
        cipher=configured_cipher(),
        defaults=configured_kite_roots(),
        timeout_seconds=settings.KITE_HTTP_TIMEOUT_SECONDS,
    )
