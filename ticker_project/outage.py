"""A database or Redis outage answers 503 with a short reason, never a 500 or a traceback.

Three places see such an error: DRF's exception handler (API views, token authentication
included), ``StoreOutageMiddleware.process_exception`` (any other view: admin, Kite callback;
also with DEBUG on, before Django's debug page) and, for an error raised in a middleware (a
session read while logging the user), Django's ``got_request_exception`` signal, which tags the
request so that the middleware replaces the 500 (or debug page) with the 503; ``server_error``
(``handler500``) does the same for DEBUG off. API paths get JSON ``{"detail": ...}``, pages get the
plain ``503.html``. Nothing is cached: the next request tries the stores again, so the service
recovers by itself once they are back.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, Final

import kombu.exceptions
import redis.exceptions
import structlog
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from prometheus_client import Counter
from rest_framework.response import Response
from rest_framework.views import exception_handler

log = structlog.get_logger(__name__)

RETRY_AFTER_SECONDS: Final = 5
API_PREFIX: Final = "/api/"

STORE_OUTAGES = Counter(
    "ticker_web_store_outage_responses_total",
    "Requests answered 503 because a store was unreachable",
    ["store"],
)

# Errors that mean "the store cannot be reached now"; a bad query (ProgrammingError,
# IntegrityError) is a bug and stays a 500.
_DATABASE_ERRORS: Final = (OperationalError, InterfaceError)
_REDIS_ERRORS: Final = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    kombu.exceptions.OperationalError,  # the broker (Redis) refused a task
)


def outage_store(exc: BaseException | None) -> str | None:
    """``"database"`` or ``"redis"`` when ``exc`` means that store is unreachable, else None."""
    if isinstance(exc, _DATABASE_ERRORS):
        return "database"
    if isinstance(exc, _REDIS_ERRORS):
        return "redis"
    return None


def _reason(store: str) -> str:
    return f"service unavailable: the {store} is unreachable, retry shortly"


def _record(request: HttpRequest, store: str, exc: BaseException) -> None:
    STORE_OUTAGES.labels(store=store).inc()
    log.warning(
        "store_outage_response",
        store=store,
        path=request.path,
        error_type=type(exc).__name__,
    )


def outage_response(request: HttpRequest, store: str) -> HttpResponse:
    """503: JSON under /api/, the plain ``503.html`` page elsewhere (no request context)."""
    if request.path.startswith(API_PREFIX):
        response: HttpResponse = JsonResponse({"detail": _reason(store)}, status=503)
    else:
        page = loader.render_to_string("503.html", {"reason": _reason(store)})
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponse | None:
    """DRF's handler, plus 503 JSON for an unreachable database or Redis.

    A plain JsonResponse, not a DRF Response: whatever the view renders (the schema view
    speaks YAML), an outage answers JSON.
    """
    store = outage_store(exc)
    if store is None:
        response: Response | None = exception_handler(exc, context)
        return response
    request = context["request"]
    _record(request, store, exc)
    return outage_response(request, store)


_OUTAGE_ATTRIBUTE: Final = "_ticker_store_outage"


def _tag_outage(sender: object, request: HttpRequest | None = None, **_kwargs: Any) -> None:
    """``got_request_exception``: note on the request which store the uncaught error was."""
    exc = sys.exc_info()[1]
    store = outage_store(exc)
    if request is not None and store is not None and exc is not None:
        setattr(request, _OUTAGE_ATTRIBUTE, store)
        _record(request, store, exc)


class StoreOutageMiddleware:
    """Answers 503 for a store outage raised in any view or inner middleware (API or not)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        got_request_exception.connect(_tag_outage, dispatch_uid="ticker-store-outage")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        store: str | None = getattr(request, _OUTAGE_ATTRIBUTE, None)
        if store is not None and response.status_code == 500:
            return outage_response(request, store)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        store = outage_store(exception)
        if store is None:
            return None
        _record(request, store, exception)
        return outage_response(request, store)


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: 503 for an outage raised outside a view, else the plain ``500.html``."""
    store = outage_store(sys.exc_info()[1])
    if store is not None:  # counted and logged by _tag_outage
        return outage_response(request, store)
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": "internal server error"}, status=500)
    return HttpResponse(loader.render_to_string("500.html"), status=500)
