"""Credential encryption at rest: MultiFernet over ``CREDENTIALS_KEYS`` (newest key first).

The newest key encrypts; any listed key decrypts, so a key can be retired only after
``manage.py rotate_credentials_key`` has re-encrypted everything with the newest one.
Errors name what failed (account, field), never a value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.core.exceptions import ImproperlyConfigured


class CredentialDecryptError(Exception):
    """A stored secret could not be decrypted with any configured key."""

    def __init__(self, *, account: str, field: str) -> None:
        super().__init__(
            f"cannot decrypt {field} of account {account!r} with any key in CREDENTIALS_KEYS "
            "(was a key dropped before rotate_credentials_key re-encrypted it?)"
        )
        self.account = account
        self.field = field


@dataclass(frozen=True)
class CredentialCipher:
    """Encrypts with the newest key, decrypts with any; built from the configured key list."""

    newest: Fernet
    all_keys: MultiFernet

    @classmethod
    def from_keys(cls, keys: Sequence[str]) -> CredentialCipher:
        if not keys:
            raise ImproperlyConfigured("CREDENTIALS_KEYS is empty: no key to encrypt credentials")
        fernets = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.encode()))
            except ValueError as exc:  # the message names the position, never the key
                raise ImproperlyConfigured(
                    f"CREDENTIALS_KEYS key #{position} is not a Fernet key "
                    "(32 url-safe base64 bytes)"
                ) from exc
        return cls(newest=fernets[0], all_keys=MultiFernet(fernets))

    def encrypt(self, plaintext: str) -> str:
        return self.newest.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str, *, account: str, field: str) -> str:
        try:
            return self.all_keys.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise CredentialDecryptError(account=account, field=field) from exc

    def is_current(self, ciphertext: str) -> bool:
        """True when the newest key alone decrypts it (nothing to rotate)."""
        try:
            self.newest.decrypt(ciphertext.encode())
        except InvalidToken:
            return False
        return True

    def rotate(self, ciphertext: str, *, account: str, field: str) -> str:
        try:
            return self.all_keys.rotate(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise CredentialDecryptError(account=account, field=field) from exc


def mask_secret(plaintext: str, *, visible: int = 4) -> str:
    """At most the last ``visible`` characters; short secrets show nothing."""
    if not plaintext:
        return ""
    if len(plaintext) <= visible * 2:
        return "****"
    return "****" + plaintext[-visible:]
