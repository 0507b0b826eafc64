"""Run every benchmark module: ``python -m benchmarks [--smoke] [name ...]``.

Each module prints throughput and the ratio to a baseline measured in the same run.
``--smoke`` runs a tiny size so CI proves the benchmarks still work, not how fast they are.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for CI")
    parser.add_argument("names", nargs="*", help="benchmark modules to run (default: all)")
    args = parser.parse_args()
    here = Path(__file__).parent
    names = args.names or sorted(
        info.name for info in pkgutil.iter_modules([str(here)]) if info.name.endswith("_bench")
    )
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}")
        started = time.perf_counter()
        sys.stdout.write(f"== {name} ({'smoke' if args.smoke else 'full'})\n")
        for line in module.run(smoke=args.smoke):
            sys.stdout.write(line + "\n")
        sys.stdout.write(f"   ({time.perf_counter() - started:.1f} s)\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
