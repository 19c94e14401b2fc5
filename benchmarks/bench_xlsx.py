"""Reading and validating a workbook: an .xlsx beside the same tables as a CSV folder and
as Parquet, wall seconds and peak RSS of each, beside the 3 s target.

For each scale of the seeded generator (``matcher.inputs.generate.generate(scale, seed)``; 1.0
is the article's Fuzhou, about 106,000 rows in all) the tables are written once as a CSV
folder, a Parquet folder and a workbook (``matcher.inputs.xlsx.write_workbook``, English or,
with ``--chinese``, Chinese sheet and column names); then each is loaded with
``matcher.load_dataset`` in a fresh process, so that peak RSS is that load's own, and
the three content hashes must agree.

    .venv/bin/python benchmarks/bench_xlsx.py                  # scales 0.1 and 1
    .venv/bin/python benchmarks/bench_xlsx.py --scales 1 --chinese --repeat 3

Target (issue 21, "Excel in"): a workbook of scale 1 loads and validates in at most 3 s
on this 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CHILD = "--child"
TARGET_SECONDS = 3.0


def child(path: str) -> None:
    """One measured load in this fresh process; prints a JSON line of figures."""
    import matcher

    t = time.perf_counter()
    ds = matcher.load_dataset(path)
    seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = sum(ds.counts().values())
    print(json.dumps({"seconds": seconds, "peak_mib": peak, "rows": rows, "hash": ds.content_hash}))


def measure(path: Path) -> dict[str, Any]:
    run = subprocess.run(
        [sys.executable, __file__, CHILD, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    figures: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[0.1, 1.0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1, help="loads per format (best kept)")
    parser.add_argument("--chinese", action="store_true", help="Chinese sheet/column names")
    args = parser.parse_args()

    from matcher.inputs.generate import generate
    from matcher.inputs.io import write_tables
    from matcher.inputs.xlsx import write_workbook

    print(f"python {platform.python_version()} on {platform.machine()}, {platform.system()}")
    with tempfile.TemporaryDirectory(prefix="bench-xlsx-") as tmp:
        for scale in args.scales:
            tables = generate(scale=scale, seed=args.seed)
            base = Path(tmp) / f"s{scale}"
            paths = {
                "csv": write_tables(tables, base / "csv")[0].parent,
                "parquet": write_tables(tables, base / "parquet", fmt="parquet")[0].parent,
                "xlsx": write_workbook(tables, base / "lists.xlsx", chinese=args.chinese),
            }
            size = {
                k: (p.stat().st_size if p.is_file() else sum(f.stat().st_size for f in p.iterdir()))
                for k, p in paths.items()
            }
            rows = sum(len(f) for f in tables.values())
            print(f"\nscale {scale:g} (seed {args.seed}): {rows:,} rows")
            hashes = set()
            for fmt, path in paths.items():
                runs = [measure(path) for _ in range(max(args.repeat, 1))]
                best = min(runs, key=lambda r: r["seconds"])
                hashes.add(best["hash"])
                note = ""
                if fmt == "xlsx":
                    verdict = "within" if best["seconds"] <= TARGET_SECONDS else "PAST"
                    note = f"   ({verdict} the {TARGET_SECONDS:g} s target)"
                print(
                    f"  {fmt:<8} {size[fmt] / 1e6:7.1f} MB on disk   load+validate "
                    f"{best['seconds']:6.2f} s   peak RSS {best['peak_mib']:7.0f} MiB{note}"
                )
            same = "the same" if len(hashes) == 1 else "DIFFERENT"
            print(f"  content hashes of the three: {same}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == CHILD:
        child(sys.argv[2])
    else:
        main()
