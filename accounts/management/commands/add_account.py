"""``manage.py add_account``: store a new trading account with encrypted credentials.

A secret not given as a flag is read from an environment variable, else from a hidden prompt
(when a terminal is attached). Nothing secret is ever printed.
"""

from __future__ import annotations

import getpass
import os
import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.crypto import mask_secret
from accounts.models import KITE_MAX_CONNECTIONS, KITE_MAX_INSTRUMENTS_PER_CONNECTION
from accounts.services.account import SecretsUpdate, account_create
from accounts.wiring import configured_cipher

ENV_API_SECRET = "KITE_API_SECRET"  # noqa: S105 (a variable name, not a secret)
ENV_ACCESS_TOKEN = "KITE_ACCESS_TOKEN"  # noqa: S105


class Command(BaseCommand):
    help = "Add a Kite account; secrets come from flags, the environment or a hidden prompt."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--api-key", required=True)
        parser.add_argument("--api-secret", help=f"else ${ENV_API_SECRET}, else a hidden prompt")
        parser.add_argument(
            "--access-token", help=f"else ${ENV_ACCESS_TOKEN}, else a hidden prompt"
        )
        parser.add_argument("--user-id", default="", help="the broker's user id")
        parser.add_argument("--max-connections", type=int, default=KITE_MAX_CONNECTIONS)
        parser.add_argument(
            "--instruments-per-connection", type=int, default=KITE_MAX_INSTRUMENTS_PER_CONNECTION
        )
        parser.add_argument("--api-root", default="", help="override (e.g. the simulator)")
        parser.add_argument("--ws-root", default="", help="override (e.g. the simulator)")
        parser.add_argument("--login-url", default="", help="override (e.g. the simulator)")
        parser.add_argument(
            "--no-input", action="store_true", help="never prompt; missing secrets stay empty"
        )

    def _secret(self, flag_value: str | None, env_name: str, label: str, *, no_input: bool) -> str:
        if flag_value is not None:
            return flag_value
        from_env = os.environ.get(env_name)
        if from_env is not None:
            return from_env
        if no_input or not sys.stdin.isatty():
            return ""
        return getpass.getpass(f"{label} (hidden, Enter for none): ")

    def handle(self, *args: Any, **options: Any) -> None:
        no_input: bool = options["no_input"]
        secrets = SecretsUpdate(
            api_key=options["api_key"],
            api_secret=self._secret(
                options["api_secret"], ENV_API_SECRET, "API secret", no_input=no_input
            ),
            access_token=self._secret(
                options["access_token"], ENV_ACCESS_TOKEN, "Access token", no_input=no_input
            ),
        )
        try:
            account = account_create(
                cipher=configured_cipher(),
                name=options["name"],
                secrets=secrets,
                broker_user_id=options["user_id"],
                max_connections=options["max_connections"],
                instruments_per_connection=options["instruments_per_connection"],
                api_root_override=options["api_root"],
                ws_root_override=options["ws_root"],
                login_url_override=options["login_url"],
            )
        except ValidationError as exc:
            problems = "; ".join(
                f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items()
            )
            raise CommandError(f"account not created: {problems}") from exc
        except ValueError as exc:
            raise CommandError(f"account not created: {exc}") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Created account {account.name!r} (id {account.pk}), status {account.status}; "
                f"api key {mask_secret(options['api_key'])}, "
                f"api secret {'set' if secrets.api_secret else 'not set'}, "
                f"access token {'set' if secrets.access_token else 'not set'}."
            )
        )
