"""Run the official KiteTicker against the simulator in its own process (Twisted cannot restart).

``python tests/simulator/ticker_probe.py '<json plan>'`` prints one JSON report on stdout.
Plans: ``modes`` (subscribe, set ltp/quote/full, collect ticks), ``limit`` (3001 tokens),
``forbidden`` (bad token) and ``reconnect`` (drop via the control endpoint, expect resubscribe).
"""

from __future__ import annotations

import json
import sys
import threading
import urllib.request
from typing import Any

from kiteconnect import KiteTicker
from twisted.internet import reactor as _reactor

reactor: Any = _reactor  # twisted's module-level reactor has no useful static type


def _plain(tick: dict[str, Any]) -> dict[str, Any]:
    out = dict(tick)
    for key in ("exchange_timestamp", "last_trade_time"):
        if out.get(key) is not None:
            out[key] = out[key].timestamp()  # naive local -> epoch, undoing fromtimestamp
    return out


def main() -> None:
    plan = json.loads(sys.argv[1])
    report: dict[str, Any] = {
        "ticks": [],
        "errors": [],
        "closes": [],
        "reconnects": 0,
        "connects": 0,
    }
    kws = KiteTicker(plan["api_key"], plan["access_token"], root=plan["ws_root"])
    dropped = threading.Event()

    def finish() -> None:
        kws.stop_retry()
        reactor.stop()

    def on_connect(ws: KiteTicker, response: Any) -> None:
        report["connects"] += 1
        if report["connects"] > 1:
            return  # resubscribe() on reconnect is the client's job
        ws.subscribe(plan["tokens"])
        for mode, tokens in plan.get("modes", {}).items():
            ws.set_mode(mode, tokens)

    def on_ticks(ws: KiteTicker, ticks: list[dict[str, Any]]) -> None:
        report["ticks"].extend({**_plain(t), "_connect": report["connects"]} for t in ticks)
        if plan["plan"] == "reconnect" and not dropped.is_set() and report["connects"] == 1:
            dropped.set()
            request = urllib.request.Request(  # noqa: S310 - loopback control URL
                plan["control_root"] + "/faults",
                data=json.dumps({"action": "drop"}).encode(),
                headers={"Content-Type": "application/json"},
            )
            urllib.request.urlopen(request, timeout=5).read()  # noqa: S310
        if plan["plan"] == "reconnect" and report["connects"] > 1:
            reactor.callLater(1.5, finish)

    def on_error(ws: KiteTicker, code: Any, reason: Any) -> None:
        report["errors"].append([code, str(reason)])
        if plan["plan"] == "limit":

            def check_open() -> None:
                report["open_after_error"] = ws.is_connected()
                finish()

            reactor.callLater(0.5, check_open)

    def on_close(ws: KiteTicker, code: Any, reason: Any) -> None:
        report["closes"].append([code, str(reason)])
        if plan["plan"] == "forbidden":
            finish()

    def on_reconnect(ws: KiteTicker, attempts: int) -> None:
        report["reconnects"] += 1

    kws.on_connect = on_connect
    kws.on_ticks = on_ticks
    kws.on_error = on_error
    kws.on_close = on_close
    kws.on_reconnect = on_reconnect
    reactor.callLater(plan["seconds"], finish)
    kws.connect(threaded=False)
    sys.stdout.write(json.dumps(report) + "\n")


if __name__ == "__main__":
    main()
