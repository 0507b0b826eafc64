"""Fetch Kite's raw instruments CSV over HTTP (the edge; validation is kite_wire's job).

kiteconnect's ``instruments()`` parses the dump itself and fails the whole dump on one bad row,
so we fetch the text with ``requests`` and validate each row with
``kite_wire.instruments_csv``. Kite's JSON error envelope is mapped onto kiteconnect's exception
classes (``error_type``), so the retry policy sees NetworkException/DataException as it would
from the client.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import requests
import structlog
from kiteconnect import exceptions as kite_exceptions

from accounts.kite_client import KiteClientFactory
from accounts.models import Account
from accounts.selectors import accounts_streamable

log = structlog.get_logger(__name__)

KITE_VERSION_HEADER = "3"
_STATUS_ERRORS: dict[int, type[kite_exceptions.KiteException]] = {
    400: kite_exceptions.InputException,
    403: kite_exceptions.TokenException,
    429: kite_exceptions.NetworkException,
    502: kite_exceptions.DataException,
    503: kite_exceptions.NetworkException,
    504: kite_exceptions.NetworkException,
}


class NoAccountForDump(RuntimeError):
    """No active account with an access token can fetch the dump."""


@dataclass(frozen=True)
class DumpSource:
    """Where and as whom to fetch the dump (plaintext secrets: keep it out of logs)."""

    account_name: str
    api_root: str
    api_key: str
    access_token: str
    timeout_seconds: float

    def __repr__(self) -> str:
        return f"DumpSource(account={self.account_name!r}, api_root={self.api_root!r})"


def _kite_error(response: requests.Response) -> kite_exceptions.KiteException:
    error_type, message = "", response.text[:200]
    if "json" in response.headers.get("content-type", ""):
        try:
            body = response.json()
        except ValueError:
            body = {}
        if isinstance(body, dict):
            error_type = str(body.get("error_type", ""))
            message = str(body.get("message", message))
    cls = getattr(kite_exceptions, error_type, None) if error_type else None
    if not (isinstance(cls, type) and issubclass(cls, kite_exceptions.KiteException)):
        cls = _STATUS_ERRORS.get(response.status_code, kite_exceptions.GeneralException)
    return cls(message, code=response.status_code)


def fetch_instruments_csv(source: DumpSource, exchange: str | None = None) -> bytes:
    """GET {api_root}/instruments[/{exchange}]; the raw CSV bytes, or a kiteconnect exception."""
    path = f"/instruments/{exchange}" if exchange else "/instruments"
    url = source.api_root.rstrip("/") + path
    response = requests.get(
        url,
        headers={
            "X-Kite-Version": KITE_VERSION_HEADER,
            "Authorization": f"token {source.api_key}:{source.access_token}",
        },
        timeout=source.timeout_seconds,
    )
    if response.status_code != 200:
        error = _kite_error(response)
        log.warning(
            "instruments_dump_rejected",
            account=source.account_name,
            url=url,
            status=response.status_code,
            error_type=type(error).__name__,
        )
        raise error
    return response.content


def dump_sources(
    factory: KiteClientFactory, *, timeout_seconds: float, now: datetime
) -> list[DumpSource]:
    """Every active account holding a token, in name order (the first that works is used)."""
    accounts: Sequence[Account] = list(accounts_streamable(now=now).order_by("name"))
    if not accounts:
        raise NoAccountForDump("no active account with an access token to fetch instruments")
    return [
        DumpSource(
            account_name=account.name,
            api_root=factory.roots(account).api_root,
            api_key=factory.api_key(account),
            access_token=factory.access_token(account),
            timeout_seconds=timeout_seconds,
        )
        for account in accounts
    ]
