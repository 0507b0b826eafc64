"""Credential encryption: newest key encrypts, any decrypts, errors never carry values."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from accounts.crypto import CredentialCipher, CredentialDecryptError, mask_secret


def test_newest_key_encrypts_and_any_key_decrypts() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    old_cipher = CredentialCipher.from_keys([old])
    ciphertext_old = old_cipher.encrypt("s3cret-value")
    both = CredentialCipher.from_keys([new, old])
    assert both.decrypt(ciphertext_old, account="a", field="api_secret") == "s3cret-value"
    assert not both.is_current(ciphertext_old)
    rotated = both.rotate(ciphertext_old, account="a", field="api_secret")
    assert both.is_current(rotated)
    assert CredentialCipher.from_keys([new]).decrypt(rotated, account="a", field="x") == (
        "s3cret-value"
    )


def test_decrypt_failure_names_account_and_field_but_not_value() -> None:
    ciphertext = CredentialCipher.from_keys([Fernet.generate_key().decode()]).encrypt("topsecret")
    stranger = CredentialCipher.from_keys([Fernet.generate_key().decode()])
    with pytest.raises(CredentialDecryptError) as info:
        stranger.decrypt(ciphertext, account="desk-1", field="access_token")
    message = str(info.value)
    assert "desk-1" in message
    assert "access_token" in message
    assert "topsecret" not in message
    assert ciphertext not in message


def test_missing_or_invalid_keys_fail_clearly() -> None:
    with pytest.raises(ImproperlyConfigured, match="CREDENTIALS_KEYS is empty"):
        CredentialCipher.from_keys([])
    with pytest.raises(ImproperlyConfigured, match="key #1 is not a Fernet key"):
        CredentialCipher.from_keys(["not-a-key"])


@pytest.mark.parametrize(
    ("plaintext", "masked"),
    [("", ""), ("short", "****"), ("abcdefgh", "****"), ("abcdefghijkl", "****ijkl")],
)
def test_mask_shows_at_most_last_four(plaintext: str, masked: str) -> None:
    assert mask_secret(plaintext) == masked
