"""A quarter's cycle at city scale, through a real ``matcher serve``: what each step of
the practice costs the people waiting on it.

For each scale of the seeded generator this uploads the city to a server on a SQLite
store in a temporary folder and drives one cycle for the district with the most demands
over HTTP, timing each request (wall seconds as the client sees them):

- intake: ``--intake`` new demands in one CSV (all checked, all or none), then one more
  demand entered alone;
- opening planning (the lists' snapshot, validated as any dataset and stored);
- the plan run (queued, solved by a worker, stored) and its adoption as the draft;
- one edit (an assignment excluded: a stable re-plan stored as a run);
- the moves through discussion, two reviews and the notice, and publishing (the version
  frozen with its projects);
- the public notice page of the district's largest community (median of 5);
- delivery: every cadre assignment's hours in one CSV, then 50 decisions one by one
  (median);
- evaluation: 50 tokens, 50 ratings (median), closing (the points);
- the next cycle (carry-over, the next base dataset stored).

Also the server's RSS before and after. Figures go to docs/benchmarks.md.

    .venv/bin/python benchmarks/bench_cycle.py                 # scales 0.3 and 1
    .venv/bin/python benchmarks/bench_cycle.py --scales 1 --intake 2000
"""

from __future__ import annotations

import argparse
import io
import os
import platform
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


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _serve(tmp: Path) -> tuple[subprocess.Popen[bytes], str, dict[str, str]]:
    from api.db.session import make_engine, make_sessionmaker, migrate, session_scope
    from api.security import create_key

    url = f"sqlite:///{tmp / 'bench.db'}"
    engine = make_engine(url)
    migrate(engine)
    keys = {}
    with session_scope(make_sessionmaker(engine)) as session:
        for role in ("planner", "community", "unit", "street_reviewer", "district_reviewer"):
            keys[role] = create_key(session, role, "bench")[1]
    engine.dispose()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    environ = {
        **os.environ,
        "DATABASE_URL": url,
        "MATCHER_LOG_LEVEL": "warning",
        "MATCHER_RATE_LIMITS": "false",
    }
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("matcher")), "serve", "--port", str(port)],
        cwd=tmp,
        env=environ,
        stdout=(tmp / "server.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return server, f"http://127.0.0.1:{port}", keys


class Client:
    """Timed requests as a role; every answer must be the status asked for."""

    def __init__(self, base: str, keys: dict[str, str]) -> None:
        import httpx

        self.http = httpx.Client(base_url=base, timeout=600)
        self.keys = keys
        self.times: dict[str, float] = {}

    def call(
        self, name: str, role: str | None, method: str, path: str, status: int = 200, **kwargs: Any
    ) -> Any:
        headers = {**kwargs.pop("headers", {})}
        if role:
            headers["X-API-Key"] = self.keys[role]
        t0 = time.perf_counter()
        r = self.http.request(method, path, headers=headers, **kwargs)
        self.times[name] = time.perf_counter() - t0
        if r.status_code != status:
            raise SystemExit(f"{name}: {r.status_code} {r.text[:500]}")
        return r.json() if "json" in r.headers.get("content-type", "") else r.text


def bench_scale(scale: float, seed: int, intake: int) -> None:  # noqa: PLR0915 -- the quarter, step by step
    import pandas as pd

    from matcher.inputs.generate import generate
    from matcher.inputs.io import write_tables
    from matcher.plans.tables import ASSIGNMENT_COLUMNS

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        tables = generate(scale=scale, seed=seed)
        folder = tmp / "city"
        write_tables(tables, folder)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for f in sorted(folder.iterdir()):
                archive.write(f, f.name)
        comms, demands = tables["communities"], tables["demands"]
        per_district = demands.merge(comms, on="community_id").groupby("district").size()
        district = str(per_district.idxmax())
        ours = comms[comms["district"] == district]["community_id"].astype(str).tolist()
        biggest = str(
            demands[demands["community_id"].isin(ours)].groupby("community_id").size().idxmax()
        )
        server, base, keys = _serve(tmp)
        try:
            c = Client(base, keys)
            for _ in range(600):
                try:
                    if c.http.get("/health").status_code == 200:
                        break
                except Exception:
                    time.sleep(0.1)
            rss0 = _rss_mib(server.pid)
            ds = c.call(
                "upload",
                "planner",
                "POST",
                "/datasets",
                201,
                content=buffer.getvalue(),
                headers={"Content-Type": "application/zip"},
            )["id"]
            cycle = c.call(
                "create",
                "planner",
                "POST",
                "/cycles",
                201,
                json={"district": district, "period": "2026-Q4", "dataset_id": ds},
            )
            u = f"/cycles/{cycle['id']}"
            rows = pd.DataFrame(
                {
                    "demand_id": [f"NEW{i:05d}" for i in range(intake)],
                    "community_id": [ours[i % len(ours)] for i in range(intake)],
                    "category": [
                        str(demands["category"].iloc[i % len(demands)]) for i in range(intake)
                    ],
                    "hours": [4 + i % 9 for i in range(intake)],
                    "priority": [1 + i % 5 for i in range(intake)],
                }
            )
            c.call(
                "intake CSV",
                "community",
                "POST",
                f"{u}/lists/demands/file?origin=hotline",
                201,
                content=rows.to_csv(index=False).encode(),
                headers={"Content-Type": "text/csv"},
            )
            one = {
                "demand_id": "ONE",
                "community_id": ours[0],
                "category": rows["category"][0],
                "hours": 6,
                "priority": 3,
            }
            c.call(
                "intake one row",
                "community",
                "POST",
                f"{u}/lists/demands",
                201,
                json={"rows": [one], "origin": "home_visit"},
            )
            c.call("open planning (snapshot)", "planner", "POST", f"{u}/moves/open_planning")
            t0 = time.perf_counter()
            run = c.call("queue plan", "planner", "POST", f"{u}/runs", 202, json={})
            while run["status"] in ("queued", "running"):
                time.sleep(0.2)
                run = c.call("poll", "planner", "GET", f"/runs/{run['id']}")
            if run["status"] != "succeeded":
                raise SystemExit(f"plan: {run}")
            c.times["plan run (queued to stored)"] = time.perf_counter() - t0
            c.call("adopt", "planner", "POST", f"{u}/draft", json={"run_id": run["id"]})
            draft = c.call("read draft", "planner", "GET", f"{u}/draft")
            served = [(p["demand_id"], s) for p in draft["projects"] for s in p["suppliers"]]
            demand, s = served[0]
            edit = {
                "action": "exclude",
                "supplier_kind": s["supplier_kind"],
                "supplier_id": s["supplier_id"],
                "demand_id": demand,
            }
            edited = c.call(
                "edit (stable re-plan)",
                "planner",
                "POST",
                f"{u}/draft/edits",
                201,
                json={"edits": [edit]},
            )
            for role, action in (
                ("planner", "submit"),
                ("planner", "submit"),
                ("street_reviewer", "approve"),
                ("district_reviewer", "approve"),
            ):
                c.call(f"move {action}", role, "POST", f"{u}/moves/{action}")
            c.call("publish (freeze version)", "planner", "POST", f"{u}/moves/publish")
            page = []
            for _ in range(5):
                c.call("page", None, "GET", f"/public/cycles/{cycle['id']}/communities/{biggest}")
                page.append(c.times["page"])
            c.times["public page (median of 5)"] = statistics.median(page)
            del c.times["page"]
            c.call("start delivery", "planner", "POST", f"{u}/moves/start_delivery")
            assignments = pd.DataFrame(
                c.call(
                    "assignments",
                    "planner",
                    "GET",
                    f"/runs/{edited['run_id']}/assignments?limit=10000",
                )["items"]
            )
            mine = assignments[assignments["community_id"].isin(ours)]
            export = mine[list(ASSIGNMENT_COLUMNS)].assign(hours_delivered=mine["hours"])
            made = c.call(
                "deliveries CSV",
                "planner",
                "POST",
                f"{u}/deliveries/file",
                201,
                content=export.to_csv(index=False).encode(),
                headers={"Content-Type": "text/csv"},
            )
            decide = []
            for d in made[:50]:
                c.call(
                    "decide",
                    "community",
                    "POST",
                    f"{u}/deliveries/{d['id']}/decision",
                    json={"status": "approved"},
                )
                decide.append(c.times["decide"])
            c.times["decision (median of 50)"] = statistics.median(decide)
            del c.times["decide"]
            c.call("start evaluation", "planner", "POST", f"{u}/moves/start_evaluation")
            project = made[0]["demand_id"]
            community = str(mine[mine["demand_id"] == project]["community_id"].iloc[0])
            tokens = c.call(
                "50 tokens",
                "community",
                "POST",
                f"{u}/rating-tokens",
                201,
                json={"community_id": community, "count": 50},
            )["tokens"]
            rate = []
            for i, token in enumerate(tokens):
                c.call(
                    "rate",
                    None,
                    "POST",
                    f"/public/cycles/{cycle['id']}/ratings",
                    201,
                    json={"demand_id": project, "token": token, "rating": 1 + i % 5},
                )
                rate.append(c.times["rate"])
            c.times["public rating (median of 50)"] = statistics.median(rate)
            del c.times["rate"]
            c.call("close (points)", "planner", "POST", f"{u}/moves/close")
            c.call("next cycle (carry-over)", "planner", "POST", f"{u}/next", 201, json={})
            rss1 = _rss_mib(server.pid)
        finally:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    del c.times["poll"]
    print(
        f"\nscale {scale} (seed {seed}): district {district}, {len(ours)} communities, "
        f"{int(per_district.max())} + {intake + 1} demands, {len(tables['cadres'])} cadres; "
        f"{len(mine)} assignments delivered; server RSS {rss0:.0f} -> {rss1:.0f} MiB"
    )
    for name, seconds in c.times.items():
        print(f"  {name:<34} {seconds:8.3f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[0.3, 1.0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--intake", type=int, default=1000, help="demands in the intake CSV")
    args = ap.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    for scale in args.scales:
        bench_scale(scale, args.seed, args.intake)


if __name__ == "__main__":
    main()
