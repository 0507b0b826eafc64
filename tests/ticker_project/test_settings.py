"""Settings fail fast, naming the variable, when a production secret is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_settings(
    env_overrides: dict[str, str], drop: tuple[str, ...]
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "-c", "import ticker_project.settings"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("variable", ["SECRET_KEY", "CREDENTIALS_KEYS"])
def test_missing_secret_stops_startup_when_debug_is_off(variable: str) -> None:
    result = _load_settings({"DEBUG": "0"}, drop=(variable,))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"{variable} must be set" in result.stderr


def test_debug_allows_development_defaults() -> None:
    result = _load_settings({"DEBUG": "1"}, drop=("SECRET_KEY", "CREDENTIALS_KEYS"))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("value", "message"),
    [(",", "CREDENTIALS_KEYS must hold at least one key"),
     ("not-a-fernet-key", "CREDENTIALS_KEYS key #1 is not a Fernet key")],
)  # fmt: skip
def test_unusable_credentials_keys_stop_startup_without_echoing_them(
    value: str, message: str
) -> None:
    result = _load_settings({"DEBUG": "0", "CREDENTIALS_KEYS": value}, drop=())
    assert result.returncode != 0
    assert message in result.stderr
    assert "not-a-fernet-key" not in result.stderr.replace(message, "")
