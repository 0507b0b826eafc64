"""The official kiteconnect client against the simulator's REST API, over real sockets."""

from __future__ import annotations

import hashlib
import itertools
import time
from datetime import date, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from kiteconnect import KiteConnect
from kiteconnect.exceptions import InputException, NetworkException, TokenException

from kite_wire.instruments_csv import read_instruments_csv
from market_model.clock import IST
from tests.simulator_fixtures import SimAccountCredentials, SimulatorHandle

NIFTY, BANKNIFTY = 256265, 260105


def _kite(sim: SimulatorHandle, account: SimAccountCredentials) -> KiteConnect:
    return KiteConnect(account.api_key, access_token=account.access_token, root=sim.api_root)


def _wait_rate_window() -> None:
    time.sleep(1.05)  # Kite allows one quote call per second per api_key


def test_instruments_dump(kite_simulator: SimulatorHandle) -> None:
    kite = _kite(kite_simulator, kite_simulator.accounts[0])
    rows = kite.instruments()
    by_token = {r["instrument_token"]: r for r in rows}
    assert by_token[NIFTY]["tradingsymbol"] == "NIFTY 50"
    assert by_token[BANKNIFTY]["segment"] == "INDICES"
    options = [r for r in rows if r["segment"] == "NFO-OPT"]
    nifty_options = [r for r in options if r["name"] == "NIFTY"]
    assert {r["lot_size"] for r in nifty_options} == {65}
    assert {r["lot_size"] for r in options if r["name"] == "BANKNIFTY"} == {30}
    expiries = sorted({r["expiry"] for r in nifty_options})
    assert len(expiries) == 7
    assert all(isinstance(e, date) and e.weekday() == 1 for e in expiries)
    strikes = sorted({r["strike"] for r in nifty_options})
    assert len(strikes) == 61
    assert {b - a for a, b in itertools.pairwise(strikes)} == {50.0}
    for row in rows:
        assert row["instrument_token"] == int(row["exchange_token"]) << 8 | (
            9 if row["segment"] == "INDICES" else 2
        )
    assert {r["segment"] for r in rows if r["instrument_type"] == "FUT"} == {"NFO-FUT"}
    nfo = kite.instruments("NFO")
    assert {r["exchange"] for r in nfo} == {"NFO"}
    text = requests.get(f"{kite_simulator.api_root}/instruments", timeout=10)
    assert text.headers["content-type"].startswith("text/csv")
    parsed = read_instruments_csv(text.text)
    assert parsed.errors == []
    assert len(parsed.rows) == len(rows)


def test_quotes_match_simulator_state(kite_simulator: SimulatorHandle) -> None:
    kite = _kite(kite_simulator, kite_simulator.accounts[1])
    rows = kite.instruments("NFO")
    option = next(r for r in rows if r["segment"] == "NFO-OPT" and r["name"] == "NIFTY")
    keys = ["NSE:NIFTY 50", f"NFO:{option['tradingsymbol']}", "NFO:NOSUCH"]
    ltp = kite.ltp(*keys)
    assert set(ltp) == set(keys[:2])
    assert ltp["NSE:NIFTY 50"]["instrument_token"] == NIFTY
    _wait_rate_window()
    ohlc = kite.ohlc(*keys)
    assert set(ohlc[keys[1]]["ohlc"]) == {"open", "high", "low", "close"}
    _wait_rate_window()
    quote = kite.quote(*keys)[keys[1]]
    assert len(quote["depth"]["buy"]) == len(quote["depth"]["sell"]) == 5
    assert isinstance(quote["timestamp"], datetime)
    # REST timestamps are IST wall times; kiteconnect parses them naive.
    epoch = quote["timestamp"].replace(tzinfo=IST).timestamp()
    state = kite_simulator.control.state(epoch=epoch, tokens=(option["instrument_token"],))
    expected = state["quotes"][str(option["instrument_token"])]
    for field in ("last_price", "volume", "oi", "ohlc", "depth", "average_price", "buy_quantity"):
        assert quote[field] == expected[field], field


def test_quote_limits(kite_simulator: SimulatorHandle) -> None:
    kite = _kite(kite_simulator, kite_simulator.accounts[2])
    _wait_rate_window()
    with pytest.raises(InputException):
        kite.quote(*[f"NFO:X{i}" for i in range(501)])
    _wait_rate_window()
    assert kite.ltp(*[f"NFO:X{i}" for i in range(1000)]) == {}
    _wait_rate_window()
    kite.ltp("NSE:NIFTY 50")
    with pytest.raises(NetworkException) as info:
        kite.ltp("NSE:NIFTY 50")
    assert info.value.code == 429


def test_historical_candles(kite_simulator: SimulatorHandle) -> None:
    kite = _kite(kite_simulator, kite_simulator.accounts[0])
    now = kite_simulator.control.state()["now"]
    end = datetime.fromtimestamp(now, IST).replace(tzinfo=None)  # Kite reads naive as IST
    futures = [r for r in kite.instruments("NFO") if r["instrument_type"] == "FUT"]
    token = futures[0]["instrument_token"]
    minute = kite.historical_data(token, end - timedelta(days=3), end, "minute", oi=True)
    assert minute
    assert set(minute[0]) == {"date", "open", "high", "low", "close", "volume", "oi"}
    assert all(c["low"] <= min(c["open"], c["close"]) for c in minute)
    assert all(c["high"] >= max(c["open"], c["close"]) for c in minute)
    day = kite.historical_data(NIFTY, end - timedelta(days=30), end, "day")
    assert 15 <= len(day) <= 23
    assert "oi" not in day[0]
    again = kite.historical_data(NIFTY, end - timedelta(days=30), end, "day")
    assert again == day  # deterministic
    time.sleep(1.05)  # historical: 3 calls per second per api_key
    with pytest.raises(InputException, match="60 days"):
        kite.historical_data(NIFTY, end - timedelta(days=61), end, "minute")
    time.sleep(1.05)
    with pytest.raises(InputException, match="2000 days"):
        kite.historical_data(NIFTY, end - timedelta(days=2001), end, "day")
    with pytest.raises(InputException):
        kite.historical_data(999_999_999, end - timedelta(days=1), end, "day")


def test_historical_rate_limit(kite_simulator: SimulatorHandle) -> None:
    kite = _kite(kite_simulator, kite_simulator.accounts[1])
    time.sleep(1.05)
    end = datetime(2030, 1, 1, tzinfo=IST).replace(tzinfo=None)  # client sends naive
    codes = []
    for _ in range(4):
        try:
            kite.historical_data(NIFTY, end - timedelta(days=1), end, "day")
            codes.append(200)
        except NetworkException as exc:
            codes.append(exc.code)
    assert codes == [200, 200, 200, 429]


def test_bad_token_is_token_exception(kite_simulator: SimulatorHandle) -> None:
    account = kite_simulator.accounts[0]
    kite = KiteConnect(account.api_key, access_token="wrong", root=kite_simulator.api_root)
    expired = []
    kite.set_session_expiry_hook(lambda: expired.append(True))
    with pytest.raises(TokenException) as info:
        kite.profile()
    assert info.value.code == 403
    assert expired == [True]


def test_login_flow_end_to_end(simulator_factory) -> None:
    sim = simulator_factory("--redirect-url", "http://app.example/kite/callback?x=1")
    account = sim.accounts[0]
    kite = KiteConnect(account.api_key, root=sim.api_root)
    login = requests.get(
        f"{sim.api_root}/connect/login",
        params={"api_key": account.api_key, "v": "3", "redirect_params": "next=/admin"},
        allow_redirects=False,
        timeout=10,
    )
    assert login.status_code == 302
    target = urlparse(login.headers["Location"])
    assert (target.netloc, target.path) == ("app.example", "/kite/callback")
    query = parse_qs(target.query)
    assert query["action"] == ["login"]
    assert query["status"] == ["success"]
    assert query["next"] == ["/admin"]
    request_token = query["request_token"][0]
    with pytest.raises(TokenException):
        kite.generate_session(request_token + "x", api_secret=account.api_secret)
    session = kite.generate_session(request_token, api_secret=account.api_secret)
    assert session["user_id"] == account.user_id
    assert isinstance(session["login_time"], datetime)
    assert kite.profile()["user_id"] == account.user_id
    with pytest.raises(TokenException):  # request tokens are single use
        kite.generate_session(request_token, api_secret=account.api_secret)
    assert kite.invalidate_access_token() is True
    with pytest.raises(TokenException):
        kite.profile()


def test_bad_checksum_is_refused(simulator_factory) -> None:
    sim = simulator_factory("--redirect-url", "http://app.example/cb")
    account = sim.accounts[0]
    location = requests.get(
        f"{sim.api_root}/connect/login",
        params={"api_key": account.api_key, "v": "3"},
        allow_redirects=False,
        timeout=10,
    ).headers["Location"]
    request_token = parse_qs(urlparse(location).query)["request_token"][0]
    wrong = hashlib.sha256(b"not the checksum").hexdigest()
    response = requests.post(
        f"{sim.api_root}/session/token",
        data={"api_key": account.api_key, "request_token": request_token, "checksum": wrong},
        timeout=10,
    )
    assert response.status_code == 403
    assert response.json()["error_type"] == "TokenException"


def test_expired_tokens_answer_403(simulator_factory) -> None:
    sim = simulator_factory()
    kite = _kite(sim, sim.accounts[0])
    assert kite.profile()["user_id"] == sim.accounts[0].user_id
    sim.control.fault("expire_tokens", api_key=sim.accounts[0].api_key)
    with pytest.raises(TokenException):
        kite.profile()
    assert _kite(sim, sim.accounts[1]).profile()["user_id"] == sim.accounts[1].user_id
