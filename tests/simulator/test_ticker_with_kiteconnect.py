"""The official KiteTicker (in a subprocess) against the simulator's WebSocket."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from kiteconnect import KiteConnect

from tests.simulator_fixtures import REPO_ROOT, SimulatorHandle

PROBE = Path(__file__).with_name("ticker_probe.py")
NIFTY = 256265


def _probe(sim: SimulatorHandle, plan: str, *, account: int = 0, **extra: Any) -> dict[str, Any]:
    creds = sim.accounts[account]
    spec = {
        "plan": plan,
        "api_key": creds.api_key,
        "access_token": creds.access_token,
        "ws_root": sim.ws_root,
        "control_root": sim.control_root,
        "seconds": 6,
        "tokens": [],
        **extra,
    }
    done = subprocess.run(
        [sys.executable, str(PROBE), json.dumps(spec)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={"PYTHONPATH": str(REPO_ROOT), "TZ": "UTC", "PATH": "/usr/bin:/bin"},
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _chain_tokens(sim: SimulatorHandle) -> tuple[int, int, int]:
    """A NIFTY future and two NIFTY options of a later expiry, from the quote state."""
    rows = KiteConnect("k", root=sim.api_root).instruments("NFO")
    fut = next(r for r in rows if r["instrument_type"] == "FUT" and r["name"] == "NIFTY")
    later = sorted({r["expiry"] for r in rows if r["name"] == "NIFTY"})[1]
    options = [r for r in rows if r["expiry"] == later and r["name"] == "NIFTY"]
    middle = options[len(options) // 2]
    return fut["instrument_token"], middle["instrument_token"], options[10]["instrument_token"]


def test_ticks_in_all_modes_equal_simulator_state(kite_simulator: SimulatorHandle) -> None:
    fut, option, other = _chain_tokens(kite_simulator)
    before = kite_simulator.control.state()["now"]
    report = _probe(
        kite_simulator,
        "modes",
        tokens=[NIFTY, fut, option, other],
        modes={"full": [NIFTY, option], "ltp": [other]},
    )
    after = kite_simulator.control.state()["now"]
    ticks = report["ticks"]
    by_token: dict[int, list[dict[str, Any]]] = {}
    for tick in ticks:
        by_token.setdefault(tick["instrument_token"], []).append(tick)
    assert set(by_token) == {NIFTY, fut, option, other}
    # The first frame is the subscribe snapshot (quote), then the modes apply.
    assert {t["mode"] for t in by_token[option]} >= {"full"}
    assert by_token[other][-1]["mode"] == "ltp"
    assert set(by_token[other][-1]) == {
        "tradable",
        "mode",
        "instrument_token",
        "last_price",
        "_connect",
    }
    assert by_token[fut][-1]["mode"] == "quote"
    index_full = [t for t in by_token[NIFTY] if t["mode"] == "full"]
    assert index_full
    assert index_full[-1]["tradable"] is False
    for tick in [t for t in by_token[option] if t["mode"] == "full"][:3] + index_full[:2]:
        epoch = tick["exchange_timestamp"]
        token = tick["instrument_token"]
        quote = kite_simulator.control.state(epoch=epoch, tokens=(token,))["quotes"][str(token)]
        assert tick["last_price"] == quote["last_price"]
        assert tick["ohlc"] == quote["ohlc"]
        if tick["tradable"]:
            assert tick["volume_traded"] == quote["volume"]
            assert tick["oi"] == quote["oi"]
            assert tick["total_buy_quantity"] == quote["buy_quantity"]
            assert tick["average_traded_price"] == quote["average_price"]
            assert tick["depth"] == quote["depth"]
    # Timestamp-less ticks (ltp/quote) carry a price the model had during the probe.
    seconds = range(int(before) - 1, int(after) + 2)
    seen = {
        s: kite_simulator.control.state(epoch=s, tokens=(other, fut))["quotes"] for s in seconds
    }
    for token in (other, fut):
        for tick in by_token[token]:
            assert any(tick["last_price"] == q[str(token)]["last_price"] for q in seen.values())
    # A quote tick (no timestamp) equals the model's quote of some second of the probe on
    # every field a quote packet carries, not only the price.
    quote_ticks = [t for t in by_token[fut] if t["mode"] == "quote"]
    assert quote_ticks
    for tick in quote_ticks:
        assert any(
            (
                tick["last_price"],
                tick["volume_traded"],
                tick["ohlc"],
                tick["total_buy_quantity"],
                tick["total_sell_quantity"],
                tick["average_traded_price"],
                tick["last_traded_quantity"],
            )
            == (
                q[str(fut)]["last_price"],
                q[str(fut)]["volume"],
                q[str(fut)]["ohlc"],
                q[str(fut)]["buy_quantity"],
                q[str(fut)]["sell_quantity"],
                q[str(fut)]["average_price"],
                q[str(fut)]["last_quantity"],
            )
            for q in seen.values()
        ), tick


def test_more_than_3000_tokens_is_an_error_message(kite_simulator: SimulatorHandle) -> None:
    report = _probe(kite_simulator, "limit", account=1, tokens=list(range(1, 3002)))
    assert [0, "Can't subscribe to more than 3000 instruments."] in report["errors"]
    assert report["open_after_error"] is True  # the connection stays open


def test_bad_token_gets_403_at_upgrade(kite_simulator: SimulatorHandle) -> None:
    creds = kite_simulator.accounts[2]
    report = _probe(
        kite_simulator, "forbidden", account=2, access_token=creds.access_token + "x", seconds=10
    )
    assert report["closes"]
    assert "403" in report["closes"][0][1]
    assert report["ticks"] == []


def test_client_resubscribes_after_a_dropped_connection(simulator_factory) -> None:
    sim = simulator_factory()
    report = _probe(sim, "reconnect", tokens=[NIFTY], seconds=15)
    assert report["connects"] >= 2
    assert any(t["_connect"] >= 2 and t["instrument_token"] == NIFTY for t in report["ticks"])
