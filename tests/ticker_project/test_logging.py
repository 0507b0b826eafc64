"""Logs never carry secrets: the redaction processor and a real login failure's log lines."""

from __future__ import annotations

import logging

import pytest
import structlog

from ticker_project.logging_setup import REDACTED, redact_secrets


def test_processor_redacts_secret_keys_recursively_and_keeps_public_ids() -> None:
    event = {
        "event": "kite_call",
        "api_key": "AKEY",
        "access_token": "ATOKEN",
        "nested": {"api_secret": "ASECRET", "account": "desk"},
        "instrument_token": 256265,
        "Authorization": "token a:b",
    }
    out = redact_secrets(None, "info", dict(event))
    assert out["api_key"] == REDACTED
    assert out["access_token"] == REDACTED
    assert out["Authorization"] == REDACTED
    assert out["nested"] == {"api_secret": REDACTED, "account": "desk"}
    assert out["instrument_token"] == 256265
    assert out["event"] == "kite_call"


def test_structlog_output_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    structlog.get_logger("tests").info("login_attempt", account="desk", api_secret="S3CRET-VAL")
    text = caplog.text + " ".join(str(r.msg) for r in caplog.records)
    assert "S3CRET-VAL" not in text
    assert "login_attempt" in text
