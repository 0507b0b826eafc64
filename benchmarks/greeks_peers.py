"""Peer Greeks libraries, timed in the benchmark venv: ``.venv-bench/bin/python greeks_peers.py``.

Run by ``benchmarks/greeks_bench.py`` in a subprocess (the peers are not product dependencies):
``greeks_peers.py OPTIONS.npz METHOD N [N ...]``. Reads the options written by the bench,
computes IV from the price and then delta, gamma, theta, vega at that IV, and prints one JSON
line per N: options/s (median of repeats after a warm-up) and max |IV - true sigma| over the
options with at least one tick of time value. Imports only numpy and the peer under test.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

Options = dict[str, Any]
Solver = Callable[[Options], np.ndarray]  # returns the IVs; Greeks are computed inside


def _subset(options: Options, n: int) -> Options:
    return {key: value[:n] for key, value in options.items()}


def _pyvolr() -> Solver:
    import pyvolr  # noqa: PLC0415 - the peer is imported only when it is the one measured

    def run(o: Options) -> np.ndarray:
        # int8 +-1 flags: string flags go through a Python loop in pyvolr and halve its speed.
        flags = np.where(o["is_call"], 1, -1).astype(np.int8)
        q = np.zeros_like(o["spot"])
        iv = np.asarray(
            pyvolr.bs.implied_vol(
                o["price"],
                flags,
                o["spot"],
                o["strike"],
                o["t_years"],
                o["rate"],
                q,
                on_error="ignore",
            )
        )
        pyvolr.bs.greeks(flags, o["spot"], o["strike"], o["t_years"], o["rate"], iv, q)
        return iv

    return run


def _quantlib() -> Solver:
    import QuantLib as ql  # noqa: PLC0415

    def run(o: Options) -> np.ndarray:
        out = np.empty(o["spot"].shape[0])
        for i in range(out.shape[0]):
            spot, strike, t, rate = o["spot"][i], o["strike"][i], o["t_years"][i], o["rate"][i]
            kind = ql.Option.Call if o["is_call"][i] else ql.Option.Put
            discount = float(np.exp(-rate * t))
            forward = spot / discount
            try:
                std_dev = ql.blackFormulaImpliedStdDev(
                    kind, strike, forward, o["price"][i], discount, 0.0, ql.nullDouble(), 1e-10, 100
                )
            except RuntimeError:  # QuantLib's way of saying "no solution"
                out[i] = np.nan
                continue
            calc = ql.BlackCalculator(
                ql.PlainVanillaPayoff(kind, strike), forward, std_dev, discount
            )
            calc.delta(spot), calc.gamma(spot), calc.vega(t), calc.thetaPerDay(spot, t)
            out[i] = std_dev / np.sqrt(t)
        return out

    return run


def _py_vollib_vectorized() -> Solver:
    import py_vollib_vectorized as pvv  # noqa: PLC0415

    def run(o: Options) -> np.ndarray:
        flags = np.where(o["is_call"], "c", "p")
        iv = np.asarray(
            pvv.vectorized_implied_volatility(
                o["price"],
                o["spot"],
                o["strike"],
                o["t_years"],
                o["rate"],
                flags,
                model="black_scholes",
                return_as="numpy",
                on_error="ignore",
            )
        )
        args = (flags, o["spot"], o["strike"], o["t_years"], o["rate"], iv)
        for greek in (
            pvv.vectorized_delta,
            pvv.vectorized_gamma,
            pvv.vectorized_theta,
            pvv.vectorized_vega,
        ):
            greek(*args, model="black_scholes", return_as="numpy")
        return iv

    return run


PEERS: dict[str, Callable[[], Solver]] = {
    "pyvolr": _pyvolr,
    "quantlib": _quantlib,
    "py_vollib_vectorized": _py_vollib_vectorized,
}


def main(argv: list[str]) -> int:
    path, method, sizes = argv[0], argv[1], [int(n) for n in argv[2:]]
    with np.load(path) as data:
        options = {key: data[key] for key in data.files}
    started = time.perf_counter()
    solver = PEERS[method]()
    solver(_subset(options, 100))  # warm-up: imports, JIT compilation
    warm_up = time.perf_counter() - started
    for n in sizes:
        subset = _subset(options, n)
        repeats = 7 if n <= 10_000 else 3
        timings = []
        for _ in range(repeats):
            begun = time.perf_counter()
            iv = solver(subset)
            timings.append(time.perf_counter() - begun)
        tradeable = subset["tradeable"]
        error = np.abs(iv - subset["sigma"])[tradeable]
        line = {
            "method": method,
            "n": n,
            "per_s": n / statistics.median(timings),
            "max_iv_err": float(np.nanmax(error)),
            "failed": int(np.isnan(error).sum()),
            "warm_up_s": warm_up,
        }
        sys.stdout.write(json.dumps(line) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
