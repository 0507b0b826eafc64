"""``manage.py run_account`` as a subprocess against the simulator, PostgreSQL and Redis."""

from __future__ import annotations

from datetime import date

import orjson
import pytest
import redis
from cryptography.fernet import Fernet
from django.conf import settings

from accounts.crypto import CredentialCipher
from accounts.models import AccountStatus
from greeks.engine import expiry_close_epoch as expiry_epoch
from market_model.config import MarketConfig
from market_model.smile import smile_vol
from streaming.config import EXIT_NEEDS_LOGIN, EXIT_NOT_STREAMABLE, EXIT_OK
from tests.streaming.helpers import (
    NIFTY_INDEX,
    ThrowawayRedis,
    heartbeat,
    load_simulator_instruments,
    options_near_money,
    run_worker,
    simulator_account,
    stream_messages,
    subscribe,
    wait_for,
    worker_env,
)


def smile_iv_of(message: dict, smile) -> float:
    """The volatility the simulator's smile gives a published option tick's terms."""
    t_years = (expiry_epoch(date.fromisoformat(message["expiry"])) - message["ts"]) / (365 * 86400)
    return float(
        smile_vol(
            spot=message["underlying_price"], strike=message["strike"], t_years=t_years,
            rate=0.10, params=smile,
        )
    )  # fmt: skip


pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
CONTRACT_FIELDS = {
    "symbol", "token", "tradingsymbol", "segment", "exchange", "strike", "expiry", "type",
    "lot_size", "tick_size", "price", "volume", "oi", "iv", "delta", "gamma", "theta", "vega",
    "ts", "is_mock", "rho", "underlying_price", "iv_error", "depth", "total_buy_quantity",
    "total_sell_quantity",
}  # fmt: skip


def test_ticks_with_greeks_match_the_simulator_and_sigterm_drains(kite_simulator, redis_client):
    instruments = load_simulator_instruments(kite_simulator)
    account = simulator_account(kite_simulator, kite_simulator.accounts[0])
    chosen = options_near_money(instruments, count=40)
    subscribe(account, chosen)
    env = worker_env(redis_url=settings.REDIS_URL)
    with run_worker(account.pk, env) as worker:
        worker.wait_for(lambda: len(stream_messages(redis_client, "options")) >= 60, timeout=30)
        hb = worker.wait_for(lambda: heartbeat(redis_client, account.pk))
        messages = stream_messages(redis_client, "options")
        latest_index = orjson.loads(
            redis_client.hget(f"{settings.TICKER_CHANNEL_PREFIX}:latest", str(NIFTY_INDEX))
        )
        code = worker.stop()
        logs = worker.logs()
    assert code == EXIT_OK, logs
    assert redis_client.get(f"{settings.TICKER_CHANNEL_PREFIX}:heartbeat:{account.pk}") is None
    assert hb["account_id"] == account.pk and hb["tokens"] == 41 and hb["connections"] == 1
    assert latest_index["symbol"] == "NIFTY 50" and latest_index["is_mock"] is True
    by_token = {i.instrument_token: i for i in chosen}
    smile = MarketConfig().smile
    checked = 0
    for message in messages:
        assert CONTRACT_FIELDS <= set(message)
        assert message["is_mock"] is True and message["symbol"] == "NIFTY"
        instrument = by_token[message["token"]]
        assert message["tradingsymbol"] == instrument.tradingsymbol
        assert message["expiry"] == instrument.expiry.isoformat()
        assert message["type"] == instrument.instrument_type
        assert len(message["depth"]["buy"]) == 5
        if message["iv"] is None or message["vega"] < 0.5:
            continue  # price too small for its tick to pin the volatility
        assert message["iv"] == pytest.approx(smile_iv_of(message, smile), abs=2e-3)
        assert message["iv_error"] is None
        checked += 1
    assert checked >= 20
    # The published market values are the simulator's state at the tick's time.
    sample = messages[-1]
    quote = kite_simulator.control.state(epoch=sample["ts"], tokens=(sample["token"],))["quotes"][
        str(sample["token"])
    ]
    assert sample["price"] == quote["last_price"]
    assert sample["volume"] == quote["volume"]
    assert sample["oi"] == quote["oi"]
    assert sample["total_buy_quantity"] == quote["buy_quantity"]
    assert sample["depth"]["buy"][0]["price"] == quote["depth"]["buy"][0]["price"]


def test_a_rejected_access_token_marks_needs_login_and_exits_3(kite_simulator, redis_client):
    load_simulator_instruments(kite_simulator)
    account = simulator_account(
        kite_simulator, kite_simulator.accounts[1], access_token="expired-token-0000"
    )
    subscribe(account, list(_first_options(2)))
    with run_worker(account.pk, worker_env(redis_url=settings.REDIS_URL)) as worker:
        code = worker.process.wait(timeout=30)
        logs = worker.logs()
    assert code == EXIT_NEEDS_LOGIN, logs
    assert "expired-token-0000" not in logs
    account.refresh_from_db()
    assert account.status == AccountStatus.NEEDS_LOGIN
    assert "403" in account.status_reason


def _first_options(count: int):
    from subscriptions.models import Instrument  # noqa: PLC0415 - after the registry is loaded

    return Instrument.objects.filter(instrument_type="CE").order_by("instrument_token")[:count]


def test_reload_burst_is_coalesced_and_malformed_frames_are_survived(
    simulator_factory, redis_client
):
    sim = simulator_factory("--accounts", "1", "--seed", "3")
    instruments = load_simulator_instruments(sim)
    account = simulator_account(sim, sim.accounts[0])
    chosen = options_near_money(instruments, count=10)
    subscribe(account, chosen)
    with run_worker(account.pk, worker_env(redis_url=settings.REDIS_URL)) as worker:
        wait_for(lambda: (heartbeat(redis_client, account.pk) or {}).get("reloads") == 1)
        wait_for(lambda: stream_messages(redis_client, "options"))
        channel = f"{settings.TICKER_CHANNEL_PREFIX}:control"
        message = orjson.dumps({"type": "reload", "account_ids": [account.pk], "reason": "test"})
        pipe = redis_client.pipeline()
        for _ in range(100):
            pipe.publish(channel, message)
        receivers = pipe.execute()
        assert receivers[0] == 1
        sim.control.fault("malformed", frames=5)
        wait_for(lambda: heartbeat(redis_client, account.pk)["malformed_packets"] >= 5)
        before = len(stream_messages(redis_client, "options"))
        wait_for(lambda: len(stream_messages(redis_client, "options")) > before + 10)
        hb = heartbeat(redis_client, account.pk)
        code = worker.stop()
    assert code == EXIT_OK, worker.logs()
    # One start-up reload, then the burst: at most one running and one pending.
    assert 2 <= hb["reloads"] <= 3
    assert hb["errors"] == 0


def test_a_redis_restart_mid_stream_is_survived(kite_simulator, redis_client):
    instruments = load_simulator_instruments(kite_simulator)
    account = simulator_account(kite_simulator, kite_simulator.accounts[2])
    subscribe(account, options_near_money(instruments, name="BANKNIFTY", count=10))
    server = ThrowawayRedis()
    server.start()
    client = redis.Redis.from_url(server.url)
    try:
        with run_worker(account.pk, worker_env(redis_url=server.url)) as worker:
            wait_for(lambda: stream_messages(client, "options"), timeout=30)
            server.kill()
            wait_for(lambda: "redis_publisher_connection_lost" in worker.logs())
            server.start()
            wait_for(lambda: stream_messages(client, "options"), timeout=30)
            wait_for(lambda: heartbeat(client, account.pk), timeout=10)
            assert worker.process.poll() is None
            code = worker.stop()
        assert code == EXIT_OK, worker.logs()
    finally:
        client.close()
        server.kill()


def test_mock_mode_prices_the_subscriptions_in_process_seeded_from_last_real_prices(
    kite_simulator, redis_client
):
    instruments = load_simulator_instruments(kite_simulator)
    account = simulator_account(kite_simulator, kite_simulator.accounts[0])
    # No Kite at all: the feed's root is a closed port; mock mode must not need it.
    account.ws_root_override = "ws://127.0.0.1:9/"
    account.save(update_fields=["ws_root_override"])
    subscribe(account, options_near_money(instruments, count=10))
    last_real = 25_000.0  # the model's own start is 24,000: a seeded path starts here instead
    redis_client.hset(
        f"{settings.TICKER_CHANNEL_PREFIX}:latest",
        str(NIFTY_INDEX),
        orjson.dumps({"symbol": "NIFTY 50", "token": NIFTY_INDEX, "price": last_real,
                      "ts": 1_900_000_000, "is_mock": False}),
    )  # fmt: skip
    env = worker_env(
        redis_url=settings.REDIS_URL, STREAMING_FEED_IS_MOCK="0", STREAMING_MOCK_TICK_SECONDS="0.2"
    )
    with run_worker(account.pk, env, "--mock-mode", "always") as worker:
        worker.wait_for(lambda: len(stream_messages(redis_client, "options")) >= 30, timeout=30)
        hb = worker.wait_for(lambda: heartbeat(redis_client, account.pk))
        messages = stream_messages(redis_client, "options")
        code = worker.stop()
        logs = worker.logs()
    assert code == EXIT_OK, logs
    assert hb["state"] == "mock"
    assert "feed_connected" not in logs
    smile, checked = MarketConfig().smile, 0
    for message in messages:
        assert message["is_mock"] is True  # mock mode marks even a real-Kite account's ticks
        assert message["underlying_price"] == pytest.approx(last_real, rel=0.03)
        # The model has prices only: what it does not know is null, never an invented 0.
        assert message["volume"] is None and message["oi"] is None
        assert "depth" not in message
        if message["iv"] is None or message["vega"] < 0.5:
            continue
        assert message["iv"] == pytest.approx(smile_iv_of(message, smile), abs=5e-3)
        checked += 1
    assert checked >= 5


def test_undecryptable_credentials_mark_the_account_error_and_exit_4(kite_simulator):
    account = simulator_account(kite_simulator, kite_simulator.accounts[0])
    stray = CredentialCipher.from_keys([Fernet.generate_key().decode()])
    account.access_token_encrypted = stray.encrypt("a token no configured key can read")
    account.save(update_fields=["access_token_encrypted"])
    env = worker_env(redis_url=settings.REDIS_URL)
    with run_worker(account.pk, env) as worker:
        code = worker.process.wait(timeout=60)
        logs = worker.logs()
    assert code == EXIT_NOT_STREAMABLE, logs
    assert "a token no configured key can read" not in logs
    account.refresh_from_db()
    assert account.status == AccountStatus.ERROR
    assert "access_token" in account.status_reason
