"""The service under read load: throughput and p50/p99 latency, idle and while a city
solves, beside the idle figures as the baseline.

Starts its own ``matcher serve`` on 127.0.0.1 (a free port, a SQLite store in a temporary
folder, rate limits and the queued-run cap off: this measures the server, not its
brakes), uploads a generated city (``matcher.inputs.generate.generate(scale, seed)``), plans it
once so there is a plan to read, then sends reads from ``--clients`` threads, each with
its own keep-alive connection, cycling over

- ``GET /health``
- ``GET /runs?limit=50`` (the run list)
- ``GET /runs/{id}`` (a run's JSON)
- ``GET /runs/{id}/assignments?limit=100&offset=...`` (a page of assignments)
- ``GET /runs/{id}/kpis``

first with nothing else running ("idle", the baseline), then while a second plan of the
same city solves in its worker process ("solving"; only requests sent while the run is
``running`` are counted, and each client stops when the solve ends). Bounded: at most
``--clients`` x ``--requests`` requests per phase and ``--max-seconds`` per phase.
Loopback only; nothing leaves the machine.

    .venv/bin/python benchmarks/bench_load.py                 # scale 0.3
    .venv/bin/python benchmarks/bench_load.py --scale 1       # the issue's city
    .venv/bin/python benchmarks/bench_load.py --clients 8 --requests 200
    .venv/bin/python benchmarks/bench_load.py --count-limits  # what counting the limits costs
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

MATCHER = str(Path(sys.executable).with_name("matcher"))
ROUTES = ("health", "run list", "run", "assignments", "kpis")


@dataclass
class Phase:
    """The requests of one phase: latencies by route, failures, wall seconds."""

    name: str
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: list[str] = field(default_factory=list)
    wall: float = 0.0

    def all(self) -> list[float]:
        return [x for values in self.latencies.values() for x in values]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, nearest rank, in milliseconds."""
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def _city_zip(scale: float, seed: int, folder: Path) -> tuple[bytes, dict[str, int]]:
    from matcher.inputs.generate import generate
    from matcher.inputs.io import write_tables

    tables = generate(scale=scale, seed=seed)
    write_tables(tables, folder)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, path.name)
    return buffer.getvalue(), {name: len(frame) for name, frame in tables.items()}


def _start_server(folder: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(
        [MATCHER, "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=folder,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the server did not start:\n" + (folder / "server.log").read_text())
        time.sleep(0.1)


def _wait(client: httpx.Client, run_id: str, until: tuple[str, ...], limit: float) -> Any:
    deadline = time.monotonic() + limit
    while True:
        run = client.get(f"/runs/{run_id}").json()
        if run["status"] in until:
            return run
        if time.monotonic() > deadline:
            raise SystemExit(f"run {run_id} still {run['status']} after {limit:.0f} s")
        time.sleep(0.1)


def _load(
    base: str,
    headers: dict[str, str],
    run_id: str,
    assignments: int,
    clients: int,
    requests: int,
    max_seconds: float,
    phase: Phase,
    stop: threading.Event,
) -> None:
    """``clients`` threads, each up to ``requests`` reads, until ``stop`` or the time."""
    pages = max(1, assignments // 100)
    paths = {
        "health": "/health",
        "run list": "/runs?limit=50",
        "run": f"/runs/{run_id}",
        "kpis": f"/runs/{run_id}/kpis",
    }
    lock = threading.Lock()
    deadline = time.monotonic() + max_seconds

    def client(n: int) -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=60) as c:
            for i in range(requests):
                if stop.is_set() or time.monotonic() > deadline:
                    return
                route = ROUTES[(n + i) % len(ROUTES)]
                offset = 100 * ((n * requests + i) % pages)
                path = paths.get(route, f"/runs/{run_id}/assignments?limit=100&offset={offset}")
                t = time.perf_counter()
                r = c.get(path)
                took = time.perf_counter() - t
                with lock:
                    if stop.is_set():  # the solve ended while this request was out
                        return
                    if r.status_code == 200:
                        phase.latencies[route].append(took)
                    else:
                        phase.failures.append(f"{route}: {r.status_code}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    phase.wall = time.perf_counter() - t0


def _line(label: str, values: list[float], wall: float, base: list[float] | None) -> str:
    if not values:
        return f"  {label:<22} no requests"
    text = (
        f"  {label:<22} {len(values):6d} req {len(values) / wall if wall else 0:8.1f} req/s"
        f"   p50 {_pct(values, 0.5):7.1f} ms   p99 {_pct(values, 0.99):7.1f} ms"
        f"   max {1000 * max(values):7.1f} ms"
    )
    if base:
        text += (
            f"   (x{_pct(values, 0.5) / _pct(base, 0.5):.2f} p50,"
            f" x{_pct(values, 0.99) / _pct(base, 0.99):.2f} p99)"
        )
    return text


def _report(phase: Phase, baseline: Phase | None) -> None:
    values = phase.all()
    print(f"\n{phase.name}: {phase.wall:.1f} s")
    print(_line("all reads", values, phase.wall, baseline.all() if baseline else None))
    for route in ROUTES:
        base = baseline.latencies.get(route) if baseline else None
        print(_line(route, phase.latencies.get(route, []), phase.wall, base))
    if phase.failures:
        counts: dict[str, int] = defaultdict(int)
        for f in phase.failures:
            counts[f] += 1
        print(f"  failures: {dict(counts)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.3, help="generated city (1 = Fuzhou)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--clients", type=int, default=8, help="concurrent client threads")
    ap.add_argument("--requests", type=int, default=100, help="requests per client and phase")
    ap.add_argument("--max-seconds", type=float, default=120, help="time limit per phase")
    ap.add_argument(
        "--count-limits",
        action="store_true",
        help="keep the rate limits on, at rates no client reaches, to measure what counting "
        "costs (default: off)",
    )
    ap.add_argument(
        "--warmup", type=int, default=10, help="uncounted requests per client before the idle phase"
    )
    args = ap.parse_args()
    if not 1 <= args.clients <= 64 or not 1 <= args.requests <= 10_000:
        ap.error("--clients must be 1..64 and --requests 1..10000")
    if not 0 <= args.warmup <= 1000:
        ap.error("--warmup must be 0..1000")

    print(
        f"bench_load: scale {args.scale:g}, {args.clients} clients x {args.requests} "
        f"requests per phase, rate limits {'counted' if args.count_limits else 'off'}; "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs"
    )
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'store.db'}"
        env = dict(os.environ)
        env.update(
            DATABASE_URL=url,
            MATCHER_RATE_LIMITS="true" if args.count_limits else "false",
            MATCHER_RATE_LIMIT_PER_KEY="1000000/minute",
            MATCHER_RATE_LIMIT_PER_ADDRESS="1000000/minute",
            MATCHER_MAX_QUEUED_RUNS_PER_KEY="0",
            MATCHER_MAX_CONCURRENT_RUNS="1",
            MATCHER_LOG_LEVEL="warning",
        )
        key = subprocess.run(
            [MATCHER, "create-key", "--role", "admin", "--name", "bench"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        headers = {"X-API-Key": key}
        t = time.perf_counter()
        data, rows = _city_zip(args.scale, args.seed, folder / "city")
        print(
            f"city: {rows['communities']:,} communities, {rows['cadres']:,} cadres, "
            f"{rows['demands']:,} demands; zip {len(data) / 2**20:.1f} MiB "
            f"({time.perf_counter() - t:.1f} s to generate)"
        )
        process, base = _start_server(folder, env)
        try:
            with httpx.Client(base_url=base, headers=headers, timeout=600) as c:
                t = time.perf_counter()
                r = c.post("/datasets", content=data, headers={"Content-Type": "application/zip"})
                r.raise_for_status()
                dataset = r.json()["id"]
                print(f"upload: {time.perf_counter() - t:.1f} s")
                first = c.post("/runs", json={"dataset_id": dataset, "label": "read"}).json()
                run = _wait(c, first["id"], ("succeeded", "failed"), 1800)
                if run["status"] != "succeeded":
                    raise SystemExit(f"the plan failed: {run['error']}")
                assignments = c.get(f"/runs/{run['id']}/assignments?limit=1").json()["total"]
                print(
                    f"plan to read: {assignments:,} assignments, solved in "
                    f"{run['run_seconds']:.1f} s (queued {run['queue_seconds']:.1f} s)"
                )
                rss = _rss_mib(process.pid)

                # the server's thread pool, connections and SQLite page cache warm up
                # first, so the baseline is not the cold start
                _load(
                    base, headers, run["id"], assignments, args.clients, args.warmup,
                    args.max_seconds, Phase("warm-up"), threading.Event(),
                )  # fmt: skip
                idle = Phase("idle (baseline)")
                _load(
                    base, headers, run["id"], assignments, args.clients, args.requests,
                    args.max_seconds, idle, threading.Event(),
                )  # fmt: skip

                second = c.post("/runs", json={"dataset_id": dataset, "label": "busy"}).json()
                _wait(c, second["id"], ("running", "succeeded", "failed"), 600)
                busy = Phase("while a plan of the city solves")
                stop = threading.Event()

                def watch() -> None:
                    with httpx.Client(base_url=base, headers=headers, timeout=60) as w:
                        while not stop.is_set():
                            if w.get(f"/runs/{second['id']}").json()["status"] != "running":
                                stop.set()
                            time.sleep(0.2)

                watcher = threading.Thread(target=watch)
                watcher.start()
                _load(
                    base, headers, run["id"], assignments, args.clients, args.requests,
                    args.max_seconds, busy, stop,
                )  # fmt: skip
                overlap = not stop.is_set()
                stop.set()
                watcher.join()
                done = _wait(c, second["id"], ("succeeded", "failed"), 1800)
                rss_after = _rss_mib(process.pid)
        finally:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)

    _report(idle, None)
    _report(busy, idle)
    print(
        f"\nthe second solve: {done['status']}, {done['run_seconds']:.1f} s in its worker; "
        + (
            "it was still running when the reads ended"
            if overlap
            else "the reads stopped when it finished"
        )
    )
    print(f"server RSS {rss:.0f} MiB before the reads, {rss_after:.0f} MiB after (workers apart)")
    print(
        "baseline: test_api_server.py on this 2-core machine, /health alone: idle median 10 ms,"
        " median 9 ms / max 29 ms while a 20-second solve runs"
    )


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


if __name__ == "__main__":
    main()
