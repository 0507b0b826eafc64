"""``manage.py run_account ID``: stream one account's subscriptions to Redis until SIGTERM.

Exit codes (docs/streaming.md): 0 drained after SIGTERM/SIGINT; 1 failure or crash loop;
2 unknown account; 3 Kite refused the access token (the account is marked ``needs_login``);
4 account disabled or without credentials; 5 another worker holds the account's lease (it is
streaming already: the holder is named on stderr).
"""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import sys
from argparse import ArgumentParser
from typing import Any
from urllib.parse import urlsplit

import structlog
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections
from prometheus_client import start_http_server

from accounts.crypto import CredentialDecryptError
from accounts.models import Account, AccountStatus
from accounts.services.account import account_mark_needs_login, account_set_status
from accounts.wiring import configured_kite_factory
from contract.fleet import LeaseHolder
from streaming.config import (
    EXIT_LEASE_HELD,
    EXIT_NEEDS_LOGIN,
    EXIT_NOT_STREAMABLE,
    EXIT_OK,
    EXIT_USAGE,
    MockMode,
)
from streaming.feed.credentials import FeedUrl
from streaming.fleet.lease import LeaseSpec, describe_holder
from streaming.subscription_source import load_subscription_set
from streaming.wiring import configured_worker
from streaming.worker import AccountWorker, WorkerDependencies
from subscriptions.market_calendar import is_market_open

log = structlog.get_logger(__name__)
NEEDS_LOGIN_REASON = "Kite refused the access token (HTTP 403 at the WebSocket upgrade)"


class Command(BaseCommand):
    help = "Stream one account: Kite WebSocket -> IV/Greeks -> Redis (until SIGTERM)."
    # No system checks here: they load the URLconf, and with it the admin, the REST API and the
    # Kite client (~35 MB of RSS a worker keeps; docs/fleet.md, "Benchmark"). ``run_fleet``,
    # which starts this command for every account, runs them once when it starts.
    requires_system_checks = ()

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("account_id", type=int)
        parser.add_argument(
            "--mock-mode", choices=[m.value for m in MockMode], default=None,
            help="override STREAMING_MOCK_MODE",
        )  # fmt: skip
        parser.add_argument(
            "--feed-is-mock", action="store_true", default=None,
            help="mark messages is_mock (the account streams from the simulator)",
        )  # fmt: skip
        parser.add_argument(
            "--metrics-port", type=int, default=None,
            help="serve Prometheus metrics on this port (0: off; default STREAMING_METRICS_PORT)",
        )  # fmt: skip
        parser.add_argument(
            "--fleet-id", default=None,
            help="the supervising fleet's id, recorded in the account's lease (set by run_fleet)",
        )  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        account = Account.objects.filter(pk=options["account_id"]).first()
        if account is None:
            self.stderr.write(f"no account with id {options['account_id']}")
            sys.exit(EXIT_USAGE)
        config = configured_worker(
            account, mock_mode=options["mock_mode"], is_mock_feed=options["feed_is_mock"]
        )
        if account.status == AccountStatus.DISABLED:
            log.error("worker_account_disabled", account_id=account.pk)
            sys.exit(EXIT_NOT_STREAMABLE)
        feed_url: FeedUrl | None = None
        if config.mock_mode is not MockMode.ALWAYS:  # mock-only workers need no credentials
            feed_url = self._feed_url(account)
        port = settings.STREAMING_METRICS_PORT if options["metrics_port"] is None else (
            options["metrics_port"]
        )  # fmt: skip
        if port:
            start_http_server(port)
        close_old_connections()
        # The tick path allocates many short-lived objects and makes no reference cycles:
        # freeze the start-up heap and collect young objects rarely (2x throughput measured).
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 50, 100)
        worker = AccountWorker(
            WorkerDependencies(
                config=config,
                feed_url=feed_url,
                load_subscriptions=load_subscription_set,
                market_open=is_market_open,
                lease=LeaseSpec(
                    prefix=config.publish.prefix,
                    account_id=account.pk,
                    holder=LeaseHolder(
                        host=socket.gethostname(), pid=os.getpid(), fleet_id=options["fleet_id"]
                    ),
                    ttl_seconds=settings.STREAMING_LEASE_TTL_SECONDS,
                ),
            )
        )
        code = asyncio.run(worker.run())
        if code == EXIT_LEASE_HELD:
            self.stderr.write(
                f"account {account.pk} is already streaming: its lease is held by "
                f"{describe_holder(worker.lease_holder)}"
            )
        if code == EXIT_NEEDS_LOGIN:
            close_old_connections()
            account.refresh_from_db()
            account_mark_needs_login(account=account, reason=NEEDS_LOGIN_REASON)
        if code != EXIT_OK:
            sys.exit(code)

    def _feed_url(self, account: Account) -> FeedUrl:
        """The account's feed credentials, or an exit that tells the fleet not to restart.

        No token: the account needs a login (exit 3). Credentials that cannot be used (a secret
        no key decrypts, a WebSocket root that is not ws:// or wss://): the account is marked
        ``error`` with the reason and the worker exits 4; restarting would not help.
        """
        factory = configured_kite_factory()
        try:
            access_token = factory.access_token(account)
            api_key = factory.api_key(account)
        except CredentialDecryptError as exc:
            # The error names account and field (never the value); no traceback is needed.
            log.error(  # noqa: TRY400
                "worker_credentials_unreadable", account_id=account.pk, field=exc.field
            )
            account_set_status(account=account, status=AccountStatus.ERROR, reason=str(exc))
            sys.exit(EXIT_NOT_STREAMABLE)
        if not access_token:
            log.error("worker_no_access_token", account_id=account.pk)
            account_mark_needs_login(account=account, reason="no access token to stream with")
            sys.exit(EXIT_NEEDS_LOGIN)
        ws_root = factory.roots(account).ws_root
        if urlsplit(ws_root).scheme not in ("ws", "wss"):
            reason = "the WebSocket root is not a ws:// or wss:// URL"
            log.error("worker_ws_root_invalid", account_id=account.pk)
            account_set_status(account=account, status=AccountStatus.ERROR, reason=reason)
            sys.exit(EXIT_NOT_STREAMABLE)
        return FeedUrl(ws_root=ws_root, api_key=api_key, access_token=access_token)
