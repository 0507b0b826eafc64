"""structlog for Django, Celery and the daemons: JSON lines in production, console in development.

Every record passes ``redact_secrets``: values under secret-looking keys never reach a log.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any

import structlog

REDACTED = "[redacted]"
_SECRET_KEY_PATTERN = re.compile(
    r"(secret|token|password|passwd|api_key|apikey|checksum|authorization|cookie|credential)",
    re.IGNORECASE,
)
# Keys that merely *mention* a token but carry no secret (instrument tokens are public ids).
_PUBLIC_KEYS = frozenset({"instrument_token", "instrument_tokens", "token_count", "tokens"})


def _redact_value(key: str, value: Any) -> Any:
    if key in _PUBLIC_KEYS:
        return value
    if _SECRET_KEY_PATTERN.search(key):
        return REDACTED
    if isinstance(value, MutableMapping):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    return value


def redact_secrets(
    _logger: Any, _method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: replace the value of any secret-looking key, recursively."""
    for key in list(event_dict):
        if key == "event":
            continue
        event_dict[key] = _redact_value(key, event_dict[key])
    return event_dict


_SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.stdlib.PositionalArgumentsFormatter(),
    redact_secrets,
]


def build_logging_config(*, json_output: bool, level: str) -> dict[str, Any]:
    """The stdlib ``LOGGING`` dict: every library's records rendered by structlog."""
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_output
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structlog": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    renderer,
                ],
                "foreign_pre_chain": _SHARED_PROCESSORS,
            },
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "structlog"},
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.server": {"level": "WARNING"},
            "django_structlog": {"level": "WARNING"},
        },
    }


def configure_structlog() -> None:
    """Route structlog through the stdlib handlers configured by ``build_logging_config``."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_SHARED_PROCESSORS,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
