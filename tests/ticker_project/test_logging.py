"""Logs never carry secrets: the redaction processor and a real login failure's log lines."""

from __future__ import annotations

import logging

import pytest
import structlog
from django.test import Client, override_settings

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


@pytest.mark.django_db
def test_logs_during_a_request_carry_its_request_id(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
        for _ in range(2):
            assert Client().get("/api/health/").status_code == 503
    events = [r.msg for r in caplog.records if isinstance(r.msg, dict)]
    request_ids = [e.get("request_id") for e in events if e.get("event") == "health_check_failed"]
    assert len(request_ids) == 2, events
    assert all(request_ids)
    assert request_ids[0] != request_ids[1]
