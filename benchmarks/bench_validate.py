"""Loading and validation speed: generated cities of growing scale, CSV and Parquet.

Prints, per scale and format, the rows read, wall seconds and rows per second, and the
ratio to the 1,000,000-rows-per-second budget a city-scale load needs (79,000 cadres and
their neighbours validate in well under a second).

    .venv/bin/python benchmarks/bench_validate.py [--scales 0.1 1 5]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from matcher.inputs.dataset import load_dataset
from matcher.inputs.generate import generate
from matcher.inputs.io import write_tables

BUDGET_ROWS_PER_S = 1_000_000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[0.1, 1.0, 5.0])
    ap.add_argument("--repeat", type=int, default=3, help="best of N loads")
    args = ap.parse_args()
    print(f"{'scale':>6} {'format':>8} {'rows':>10} {'seconds':>8} {'rows/s':>12} {'vs budget':>9}")
    for scale in args.scales:
        tables = generate(scale=scale, seed=0)
        rows = sum(len(f) for f in tables.values())
        for fmt in ("csv", "parquet"):
            with tempfile.TemporaryDirectory() as tmp:
                write_tables(tables, Path(tmp), fmt=fmt)
                best = float("inf")
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    load_dataset(tmp)
                    best = min(best, time.perf_counter() - t0)
            rate = rows / best
            print(
                f"{scale:>6g} {fmt:>8} {rows:>10,} {best:>8.3f} {rate:>12,.0f} "
                f"{rate / BUDGET_ROWS_PER_S:>8.2f}x"
            )


if __name__ == "__main__":
    main()
