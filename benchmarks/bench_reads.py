"""The expensive reads of the service: what they cost where they are computed, and what
reading them costs the server.

For each scale of the seeded generator this uploads the city to a real ``matcher serve``
(SQLite store in a temporary folder), runs a plan and measures:

- **the worker's cost**: each artifact computed as the run's worker (or a read worker)
  computes it, from the stored plan (:func:`api.artifacts.compute`), each group in a
  fresh process: wall seconds and the process's peak RSS above what it held after
  loading the plan (report; bottlenecks with both summaries; one demand's explanation).
  Also the ``artifacts`` seconds the run's worker put in the run's timings;
- **the old on-request cost**: the library called as the routes called it before the
  reads were kept (each route indexing the plan again), in a fresh process per route,
  beside the figures of the audit that found the problem (generator scale 0.3: report
  8.5 s and 2.27 GB, bottlenecks 22.5 s, summaries 24.8 s; scale 1: report 96 s and
  18.5 GB, bottlenecks killed at 23.7 GB). Skipped above ``--old-max-scale`` (default
  0.3: at scale 1 the old path needs about 18 GB);
- **the new reads**: each route's latency from the store (median of 5, after a first
  read), the first read of a demand's explanation (computed in a read worker), and the
  server's RSS before and after all of them and its peak.

    .venv/bin/python benchmarks/bench_reads.py                   # scales 0.1 and 0.3
    .venv/bin/python benchmarks/bench_reads.py --old-from 5a72c73  # the old path as it was
    .venv/bin/python benchmarks/bench_reads.py --scales 1 --old-max-scale 0.3

Targets (issue "Hold up under hostile and heavy use"): at scale 1 each read answers in
at most 2 s from the store, and the server's RSS grows by at most 300 MB while answering.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

CHILD = "--child"
AUDIT: dict[float, dict[str, tuple[float | None, float | None]]] = {
    0.3: {"report": (8.5, 2270), "bottlenecks": (22.5, None), "summaries": (24.8, None)},
    1.0: {"report": (96.0, 18500), "bottlenecks": (None, 23700)},
}
"""The audit's on-request figures: (seconds, MB) per route and scale."""


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mib(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _old_library() -> tuple[Any, Any] | None:
    """``matcher/report/html.py`` and ``matcher/analysis/explain.py`` as they were at ``--old-from``
    (written to ``BENCH_OLD_DIR`` by the parent), imported beside today's."""
    folder = os.environ.get("BENCH_OLD_DIR")
    if not folder:
        return None
    import importlib.util

    loaded = []
    for name in ("report", "explain"):
        spec = importlib.util.spec_from_file_location(f"old_{name}", Path(folder) / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[f"old_{name}"] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
        loaded.append(module)
    return loaded[0], loaded[1]


def child(database_url: str, run_id: str, what: str, demand: str) -> dict[str, Any]:
    """One measured computation in this fresh process; returns its figures."""
    from api.artifacts import RUN_ARTIFACTS, compute, explanation_name, load_inputs
    from api.db.models import Run
    from api.db.session import make_engine, make_sessionmaker, session_scope
    from matcher.analysis.explain import ExplainParams, bottlenecks, demand_explanation, summaries
    from matcher.report.html import build_report

    old = _old_library() if what.startswith("old-") else None
    engine = make_engine(database_url)
    with session_scope(make_sessionmaker(engine)) as session:
        run = session.get(Run, run_id)
        assert run is not None
        inputs = load_inputs(session, run)
    engine.dispose()
    from api.settings import Settings

    mb = Settings().read_memory_mb  # the budget the server's workers have
    base = _peak_mib()
    t0 = time.perf_counter()
    if what == "new-report":
        out = compute(inputs, [RUN_ARTIFACTS[0]], mb)
    elif what == "new-explained":
        out = compute(inputs, ["bottlenecks"], mb)
    elif what == "new-explanation":
        out = compute(inputs, [explanation_name(demand, 5)], mb)
    elif what == "old-report":
        if old is not None:
            t = inputs.tables  # the old module's own class (it checks isinstance)
            tables = old[0].PlanTables(
                label=t.label,
                assignments=t.assignments,
                demand_status=t.demand_status,
                kpis=t.kpis,
                params=t.params.to_dict(),
                dataset_source=t.dataset_source,
                dataset_hash=t.dataset_hash,
            )
            old[0].build_report(tables, inputs.dataset)
        else:
            build_report(inputs.tables, inputs.dataset)
    elif what == "old-bottlenecks":
        (old[1].bottlenecks if old else bottlenecks)(inputs.tables, inputs.dataset)
    elif what == "old-summaries":
        lib = old[1] if old else None
        if lib is not None:
            lib.summaries(inputs.tables, inputs.dataset, lib.ExplainParams(langs=("en",)))
        else:
            summaries(inputs.tables, inputs.dataset, ExplainParams(langs=("en",)))
    elif what == "old-explanation":
        (old[1].demand_explanation if old else demand_explanation)(
            inputs.tables, inputs.dataset, demand
        )
    else:
        raise SystemExit(f"unknown measurement {what}")
    result: dict[str, Any] = {
        "seconds": time.perf_counter() - t0,
        "peak_mib": _peak_mib(),
        "above_inputs_mib": _peak_mib() - base,
    }
    if what.startswith("new-"):
        result["outcomes"] = {k: v.error_code or len(v.content or b"") for k, v in out.items()}
    return result


def _measure(url: str, run_id: str, what: str, demand: str) -> dict[str, Any]:
    cmd = [sys.executable, __file__, CHILD, url, run_id, what, demand]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr or "").strip().splitlines()[-1:] or ["?"]
        return {"error": f"exit {done.returncode}: {tail[0][:120]}"}
    r: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return r


def _serve(
    tmp: Path, env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], str, str, dict[str, str]]:
    from api.db.session import make_engine, make_sessionmaker, migrate, session_scope
    from api.security import create_key

    url = f"sqlite:///{tmp / 'bench.db'}"
    engine = make_engine(url)
    migrate(engine)
    with session_scope(make_sessionmaker(engine)) as session:
        keys = {"planner": create_key(session, "planner", "bench")[1]}
        keys["viewer"] = create_key(session, "viewer", "bench")[1]
    engine.dispose()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    environ = {**os.environ, "DATABASE_URL": url, "MATCHER_LOG_LEVEL": "warning", **env}
    environ.setdefault("MATCHER_RATE_LIMITS", "false")
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("matcher")), "serve", "--port", str(port)],
        cwd=tmp,
        env=environ,
        stdout=(tmp / "server.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return server, f"http://127.0.0.1:{port}", url, keys


def _zip(folder: Path) -> bytes:
    path = folder.with_suffix(".zip")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for f in sorted(folder.iterdir()):
            archive.write(f, f.name)
    return path.read_bytes()


def bench_scale(scale: float, seed: int, old_max_scale: float, env: dict[str, str]) -> None:
    import httpx

    from matcher.inputs.generate import generate
    from matcher.inputs.io import write_tables

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        write_tables(generate(scale=scale, seed=seed), tmp / "city")
        data = _zip(tmp / "city")
        server, base, url, keys = _serve(tmp, env)
        try:
            with httpx.Client(base_url=base, timeout=3600) as c:
                deadline = time.monotonic() + 120
                while True:
                    try:
                        if c.get("/health").status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    assert time.monotonic() < deadline, (tmp / "server.log").read_text()
                    time.sleep(0.2)
                planner, viewer = {"X-API-Key": keys["planner"]}, {"X-API-Key": keys["viewer"]}
                up = c.post(
                    "/datasets?name=city",
                    content=data,
                    headers={**planner, "Content-Type": "application/zip"},
                )
                up.raise_for_status()
                t0 = time.perf_counter()
                run_id = c.post(
                    "/runs", json={"dataset_id": up.json()["id"]}, headers=planner
                ).json()["id"]
                while True:
                    run = c.get(f"/runs/{run_id}", headers=viewer).json()
                    assert run["status"] not in ("failed", "cancelled"), run
                    if run["status"] == "succeeded" and "artifacts" in (run["timings"] or {}):
                        break
                    time.sleep(0.5)
                wall = time.perf_counter() - t0
                timings = run["timings"]
                print(
                    f"  run: plan stored and reads kept in {wall:.1f} s "
                    f"(solve {timings.get('solve', float('nan')):.1f} s, the worker's "
                    f"artifacts step {timings['artifacts']:.1f} s)"
                )
                unmet = c.get(
                    f"/runs/{run_id}/demand_status?status=unmet&limit=1", headers=viewer
                ).json()["items"]
                demand = unmet[0]["demand_id"] if unmet else ""

                print("  the worker's cost (fresh process each; peak RSS; above the plan)")
                for what in ("new-report", "new-explained", "new-explanation"):
                    if what == "new-explanation" and not demand:
                        continue
                    r = _measure(url, run_id, what, demand)
                    _print(what[4:], r)

                if scale <= old_max_scale:
                    print("  old: the library on request, as the routes called it")
                    for what in ("old-report", "old-bottlenecks", "old-summaries"):
                        r = _measure(url, run_id, what, demand)
                        name = what[4:]
                        audit = AUDIT.get(scale, {}).get(name)
                        _print(name, r, audit)
                    if demand:
                        _print("explanation", _measure(url, run_id, "old-explanation", demand))
                else:
                    print(f"  old path skipped above scale {old_max_scale:g}")
                    for name, (sec, mb) in AUDIT.get(scale, {}).items():
                        print(f"    {name:<12} audit: {sec or '-'} s, {mb or '-'} MB")

                print("  new: reads from the store (median of 5 after a first read)")
                pid = server.pid
                before = _rss_mib(pid)
                paths = {
                    "report": f"/runs/{run_id}/report",
                    "bottlenecks": f"/runs/{run_id}/bottlenecks?limit=10000",
                    "summaries.en": f"/runs/{run_id}/summaries?lang=en",
                    "summaries.zh": f"/runs/{run_id}/summaries?lang=zh",
                }
                if demand:
                    path = f"/runs/{run_id}/demands/{demand}/explanation"
                    t = time.perf_counter()
                    first = c.get(path, headers=viewer)
                    print(
                        f"    explanation, first read (computed in a read worker): "
                        f"{time.perf_counter() - t:.2f} s, HTTP {first.status_code}"
                    )
                    paths["explanation"] = path
                for name, path in paths.items():
                    seconds = []
                    for _ in range(6):
                        t = time.perf_counter()
                        got = c.get(path, headers=viewer)
                        seconds.append(time.perf_counter() - t)
                    print(
                        f"    {name:<12} {statistics.median(seconds[1:]) * 1000:8.1f} ms "
                        f"(first {seconds[0] * 1000:.1f} ms), HTTP {got.status_code}, "
                        f"{len(got.content) / 1024:.0f} KiB"
                    )
                after = _rss_mib(pid)
                print(
                    f"    server RSS {before:.0f} MiB before the reads, {after:.0f} after "
                    f"(+{after - before:.1f}); its peak (VmHWM) {_rss_mib(pid, 'VmHWM'):.0f} MiB"
                )
        finally:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)


def _print(
    name: str, r: dict[str, Any], audit: tuple[float | None, float | None] | None = None
) -> None:
    if "error" in r:
        print(f"    {name:<12} failed: {r['error']}")
        return
    line = (
        f"    {name:<12} {r['seconds']:7.2f} s, peak RSS {r['peak_mib']:6.0f} MiB "
        f"(+{r['above_inputs_mib']:.0f})"
    )
    if "outcomes" in r:
        line += f"  {r['outcomes']}"
    if audit is not None:
        sec, mb = audit
        line += f"   [audit: {sec or '-'} s, {mb or '-'} MB]"
    print(line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[0.1, 0.3])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--old-max-scale",
        type=float,
        default=0.3,
        help="measure the old on-request path up to this scale (it needs ~18 GB at 1)",
    )
    ap.add_argument(
        "--old-from",
        default=None,
        help="a git revision: measure the old path with matcher/report/html.py and "
        "matcher/analysis/explain.py as they were there (default: today's library, called as the "
        "old routes called it)",
    )
    ap.add_argument(
        "--read-memory-mb",
        type=int,
        default=None,
        help="MATCHER_READ_MEMORY_MB for the server (default: the setting's)",
    )
    ap.add_argument(CHILD, nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        url, run_id, what, demand = args.child
        print(json.dumps(child(url, run_id, what, demand)))
        return
    print(
        f"machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, python {platform.python_version()}"
    )
    env = {}
    if args.read_memory_mb is not None:
        env["MATCHER_READ_MEMORY_MB"] = str(args.read_memory_mb)
        os.environ["MATCHER_READ_MEMORY_MB"] = str(args.read_memory_mb)  # the children's
    with tempfile.TemporaryDirectory() as old_dir:
        if args.old_from:
            root = Path(__file__).resolve().parents[1]
            for name in ("report", "explain"):
                text = subprocess.run(
                    ["git", "show", f"{args.old_from}:matcher/{name}.py"],
                    cwd=root,
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                (Path(old_dir) / f"{name}.py").write_text(text, encoding="utf-8")
            os.environ["BENCH_OLD_DIR"] = old_dir
            print(
                "old path: matcher/report/html.py and matcher/analysis/explain.py at "
                f"{args.old_from}"
            )
        for scale in args.scales:
            print(f"\nscale {scale:g}")
            bench_scale(scale, args.seed, args.old_max_scale, env)


if __name__ == "__main__":
    main()
