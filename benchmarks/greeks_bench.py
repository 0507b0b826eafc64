"""Greeks engine throughput: IV from price, then delta, gamma, theta, vega, per second.

Data (seed 12345): NIFTY-like options, spot ~ U(23500, 24500), strikes spot * U(0.9, 1.1) on
the 50 grid, 1-60 calendar days, vols 8-40 %, rate 10 %, calls and puts half each, exact prices.
"Tradeable" = at least one tick (0.05) of time value; max IV error is measured over those.

Baseline: mibian (the old service's library) on a small sample, its rate extrapolated. Peers
(pyvolr, QuantLib, py_vollib_vectorized) run in their own venv (``make bench-env``) in a
subprocess, each on one core (RAYON_NUM_THREADS=1, NUMBA_NUM_THREADS=1), plus pyvolr on all
cores for reference. Our engine runs single-threaded numpy in this process.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mibian
import numpy as np

from greeks.engine import bsm_greeks, bsm_implied_volatility, bsm_price

SEED = 12345
RATE = 0.10
TICK = 0.05
BENCH_PYTHON = Path(__file__).resolve().parent.parent / ".venv-bench" / "bin" / "python"
PEERS_SCRIPT = Path(__file__).resolve().parent / "greeks_peers.py"
# (peer, sizes, extra environment): QuantLib is a Python loop, 1M would take ~10 s alone.
PEER_RUNS: list[tuple[str, list[int], dict[str, str]]] = [
    ("pyvolr", [1_000, 100_000, 1_000_000], {"RAYON_NUM_THREADS": "1"}),
    ("quantlib", [1_000, 100_000], {}),
    ("py_vollib_vectorized", [1_000, 100_000, 1_000_000], {"NUMBA_NUM_THREADS": "1"}),
]


def make_options(n: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(SEED)
    spot = rng.uniform(23500.0, 24500.0, n)
    strike = np.round(spot * rng.uniform(0.9, 1.1, n) / 50.0) * 50.0
    t_years = rng.uniform(1.0, 60.0, n) / 365.0
    sigma = rng.uniform(0.08, 0.40, n)
    is_call = rng.random(n) < 0.5
    rate = np.full(n, RATE)
    price = bsm_price(
        spot=spot, strike=strike, t_years=t_years, rate=RATE, sigma=sigma, is_call=is_call
    )
    parity = spot - strike * np.exp(-RATE * t_years)
    time_value = price - np.maximum(np.where(is_call, parity, -parity), 0.0)
    return {
        "spot": spot,
        "strike": strike,
        "t_years": t_years,
        "sigma": sigma,
        "is_call": is_call,
        "rate": rate,
        "price": price,
        "tradeable": time_value >= TICK,
    }


def _ours(o: dict[str, np.ndarray]) -> np.ndarray:
    result = bsm_implied_volatility(
        price=o["price"],
        spot=o["spot"],
        strike=o["strike"],
        t_years=o["t_years"],
        rate=RATE,
        is_call=o["is_call"],
    )
    bsm_greeks(
        spot=o["spot"],
        strike=o["strike"],
        t_years=o["t_years"],
        rate=RATE,
        sigma=result.iv,
        is_call=o["is_call"],
    )
    return result.iv


def _time_ours(options: dict[str, np.ndarray], n: int) -> tuple[float, float]:
    subset = {key: value[:n] for key, value in options.items()}
    repeats = 21 if n <= 10_000 else 5
    _ours(subset)  # warm-up: first-touch of the arrays
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        iv = _ours(subset)
        timings.append(time.perf_counter() - started)
    error = np.abs(iv - subset["sigma"])[subset["tradeable"]]
    return n / statistics.median(timings), float(np.nanmax(error))


def _time_mibian(options: dict[str, np.ndarray], n: int) -> tuple[float, float, int]:
    """mibian on the first n tradeable options (prices to 6 dp, as its precision needs)."""
    index = np.flatnonzero(options["tradeable"])[:n]
    errors, failures = [], 0
    started = time.perf_counter()
    for i in index:
        args = [options["spot"][i], options["strike"][i], RATE * 100, options["t_years"][i] * 365]
        price = round(float(options["price"][i]), 6)
        try:
            solved = (
                mibian.BS(args, callPrice=price)
                if options["is_call"][i]
                else mibian.BS(args, putPrice=price)
            )
            greeks = mibian.BS(args, volatility=solved.impliedVolatility)
        except (IndexError, ZeroDivisionError, TypeError):  # mibian's known failure modes
            failures += 1
            continue
        _ = (greeks.callDelta, greeks.gamma, greeks.callTheta, greeks.vega)
        errors.append(abs(solved.impliedVolatility / 100 - options["sigma"][i]))
    elapsed = time.perf_counter() - started
    return index.shape[0] / elapsed, max(errors), failures


def _run_peer(path: Path, peer: str, sizes: list[int], env: dict[str, str]) -> list[dict]:
    completed = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [str(BENCH_PYTHON), str(PEERS_SCRIPT), str(path), peer, *map(str, sizes)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, **env, "PYTHONWARNINGS": "ignore"},
    )
    if completed.returncode != 0:
        tail = completed.stderr.strip().splitlines()[-1:] or ["no output"]
        return [{"method": peer, "error": tail[0]}]
    return [json.loads(line) for line in completed.stdout.splitlines() if line.startswith("{")]


def _line(
    method: str, n: int, per_s: float, baseline: float, *, max_err: float, note: str = ""
) -> str:
    return (
        f"   {method:<34} N={n:>9,}  {per_s:>13,.0f} options/s  {per_s / baseline:>9,.0f}x mibian"
        f"  max IV err {max_err:.1e}{note}"
    )


def run(smoke: bool) -> list[str]:
    sizes = [1_000] if smoke else [1_000, 100_000, 1_000_000]
    options = make_options(max(sizes))
    lines = [
        f"   {'method':<34} {'N':>11}  {'options/s':>13}  {'vs mibian':>17}  accuracy",
        f"   (tradeable: {options['tradeable'].mean():.1%} have >= 1 tick of time value)",
    ]
    mibian_n = 20 if smoke else 200
    mibian_rate, mibian_err, failures = _time_mibian(options, mibian_n)
    note = f"  ({failures} failed; extrapolated)"
    lines.append(
        _line(
            "mibian 0.1.3 loop (baseline)",
            mibian_n,
            mibian_rate,
            mibian_rate,
            max_err=mibian_err,
            note=note,
        )
    )
    for n in sizes:
        per_s, err = _time_ours(options, n)
        lines.append(_line("greeks.engine (numpy, 1 core)", n, per_s, mibian_rate, max_err=err))
    if smoke:
        lines.append("   peers: not run in smoke mode")
        return lines
    if not BENCH_PYTHON.exists():
        lines.append(
            "   peers (pyvolr, QuantLib, py_vollib_vectorized): NOT MEASURED -"
            f" {BENCH_PYTHON} is missing; run `make bench-env` (requirements/bench.txt)"
        )
        return lines
    runs = [*PEER_RUNS, ("pyvolr", [1_000_000], {})]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "options.npz"
        np.savez(path, **options)  # type: ignore[arg-type]  # numpy's stub types **kwds oddly
        for peer, peer_sizes, env in runs:
            # QuantLib is a plain single-threaded loop; pyvolr without RAYON_NUM_THREADS uses all.
            label = f"{peer} ({'1 core' if env or peer == 'quantlib' else 'all cores'})"
            for result in _run_peer(path, peer, peer_sizes, env):
                if "error" in result:
                    lines.append(f"   {label}: NOT MEASURED - {result['error']}")
                    continue
                note = f"  (warm-up {result['warm_up_s']:.2f} s"
                note += f", {result['failed']} NaN)" if result["failed"] else ")"
                lines.append(
                    _line(
                        label,
                        result["n"],
                        result["per_s"],
                        mibian_rate,
                        max_err=result["max_iv_err"],
                        note=note,
                    )
                )
    return lines


if __name__ == "__main__":
    sys.stdout.write("\n".join(run(smoke="--smoke" in sys.argv)) + "\n")
