"""``manage.py run_account ID``: stream one account's subscriptions to Redis until SIGTERM.

Exit codes (docs/streaming.md): 0 drained after SIGTERM/SIGINT; 1 failure or crash loop;
2 unknown account; 3 Kite refused the access token (the account is marked ``needs_login``);
4 account disabled or without credentials.
"""

from __future__ import annotations

import asyncio
import gc
import sys
from argparse import ArgumentParser
from typing import Any

import structlog
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections
from prometheus_client import start_http_server

from accounts.models import Account, AccountStatus
from accounts.services.account import account_mark_needs_login
from accounts.wiring import configured_kite_factory
from streaming.config import (
    EXIT_NEEDS_LOGIN,
    EXIT_NOT_STREAMABLE,
    EXIT_OK,
    EXIT_USAGE,
    MockMode,
)
from streaming.feed.credentials import FeedUrl
from streaming.subscription_source import load_subscription_set
from streaming.wiring import configured_worker
from streaming.worker import AccountWorker, WorkerDependencies
from subscriptions.market_calendar import is_market_open
from ticker_project.celery import app as celery_app

log = structlog.get_logger(__name__)
NEEDS_LOGIN_REASON = "Kite refused the access token (HTTP 403 at the WebSocket upgrade)"


class Command(BaseCommand):
    help = "Stream one account: Kite WebSocket -> IV/Greeks -> Redis (until SIGTERM)."

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
        factory = configured_kite_factory()
        access_token = factory.access_token(account)
        feed_url: FeedUrl | None = None
        if access_token:
            feed_url = FeedUrl(
                ws_root=factory.roots(account).ws_root,
                api_key=factory.api_key(account),
                access_token=access_token,
            )
        elif config.mock_mode is not MockMode.ALWAYS:
            log.error("worker_no_access_token", account_id=account.pk)
            celery_app.loader.import_default_modules()
            account_mark_needs_login(account=account, reason="no access token to stream with")
            sys.exit(EXIT_NEEDS_LOGIN)
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
            )
        )
        code = asyncio.run(worker.run())
        if code == EXIT_NEEDS_LOGIN:
            # Marking the account fires the control plane's signal, which enqueues a Celery
            # task by name: load the task modules, as a Celery worker would at start.
            celery_app.loader.import_default_modules()
            close_old_connections()
            account.refresh_from_db()
            account_mark_needs_login(account=account, reason=NEEDS_LOGIN_REASON)
        if code != EXIT_OK:
            sys.exit(code)
