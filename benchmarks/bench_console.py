"""The console's pages on the demo city: server time of each page, median and max.

Seeds a SQLite store as ``matcher serve --demo`` does (the demo city, a Gulou cycle, a
user per role), starts a real ``matcher serve`` and, as the planner (and the community
and street reviewer for their pages), requests every page ``--repeat`` times, timing
each request as the client on 127.0.0.1 sees it (the server's time plus a loopback
round trip). Three states of the cycle: while it collects its lists, in discussion with
a plan run adopted as its draft (the run's page with its tables and KPIs), and in
delivery once the list is published. The
budget of the issue is 300 ms a page; pages over it are marked.

    .venv/bin/python benchmarks/bench_console.py               # 20 requests a page
    .venv/bin/python benchmarks/bench_console.py --repeat 50
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BUDGET_S = 0.300
"""The issue's budget for a page's server time."""


def _serve(tmp: Path) -> tuple[subprocess.Popen[bytes], str, dict[str, str], str, dict[str, str]]:
    from api.db.session import make_engine, make_sessionmaker, migrate, session_scope
    from api.demo import seed_demo
    from api.security import create_key
    from api.settings import Settings

    url = f"sqlite:///{tmp / 'bench.db'}"
    engine = make_engine(url)
    migrate(engine)
    with session_scope(make_sessionmaker(engine)) as session:
        users = {u.username: u.password for u in seed_demo(session, Settings(database_url=url))}
        keys = {
            r: create_key(session, r, "bench")[1]
            for r in ("planner", "street_reviewer", "district_reviewer")
        }
    with engine.connect() as conn:
        cycle = str(conn.exec_driver_sql("SELECT id FROM cycles").scalar_one())
    engine.dispose()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    environ = {**os.environ, "DATABASE_URL": url, "MATCHER_LOG_LEVEL": "warning"}
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("matcher")), "serve", "--port", str(port)],
        cwd=tmp,
        env=environ,
        stdout=(tmp / "server.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return server, f"http://127.0.0.1:{port}", users, cycle, keys


def _wait(base: str) -> None:
    import httpx

    for _ in range(600):
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not start")


def _browser(base: str, user: str, password: str) -> Any:
    import httpx

    http = httpx.Client(base_url=base, timeout=120, headers={"Accept-Language": "zh-CN"})
    page = http.get("/console/sign-in").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    r = http.post(
        "/console/sign-in",
        data={"username": user, "password": password, "csrf_token": token.group(1)},
    )
    if r.status_code != 303:
        raise SystemExit(f"sign-in of {user}: {r.status_code}")
    return http


def _time_pages(http: Any, pages: list[str], repeat: int) -> list[tuple[str, float, float]]:
    out = []
    for page in pages:
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            r = http.get(page)
            times.append(time.perf_counter() - t0)
            if r.status_code != 200:
                raise SystemExit(f"{page}: {r.status_code}")
        out.append((page, statistics.median(times), max(times)))
    return out


def _print(title: str, rows: list[tuple[str, float, float]], cycle: str) -> None:
    print(f"\n{title}")
    print(f"  {'page':<52} {'median ms':>10} {'max ms':>8}")
    for page, median, worst in rows:
        mark = "  over budget" if median > BUDGET_S or worst > BUDGET_S else ""
        name = page.replace(cycle, "{cycle}")
        print(f"  {name:<52} {median * 1000:>10.1f} {worst * 1000:>8.1f}{mark}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="requests per page")
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {os.cpu_count()} cores; budget 300 ms a page")
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        server, base, users, cycle, keys = _serve(tmp)
        try:
            _wait(base)
            c = f"/console/cycles/{cycle}"
            planner = _browser(base, "planner", users["planner"])
            collecting = [
                "/console/",
                "/console/cycles",
                c,
                f"{c}/lists",
                f"{c}/draft",
                f"{c}/audit",
                "/console/runs",
                "/console/audit",
                "/console/account",
                f"/public/cycles/{cycle}/communities/C-JUNMEN",
            ]
            _print(
                "collecting: the planner's pages",
                _time_pages(planner, collecting, args.repeat),
                cycle,
            )
            # planning: a run on the cycle's lists, adopted; then on to the discussion
            import httpx

            api = httpx.Client(base_url=base, timeout=600)
            h = {"X-API-Key": keys["planner"]}
            api.post(f"/cycles/{cycle}/moves/open_planning", headers=h).raise_for_status()
            run = api.post(f"/cycles/{cycle}/runs", json={}, headers=h).json()
            while run["status"] in ("queued", "running"):
                time.sleep(0.3)
                run = api.get(f"/runs/{run['id']}", headers=h).json()
            if run["status"] != "succeeded":
                raise SystemExit(f"the plan run {run['status']}: {run.get('error')}")
            api.post(
                f"/cycles/{cycle}/draft", json={"run_id": run["id"]}, headers=h
            ).raise_for_status()
            api.post(f"/cycles/{cycle}/moves/submit", headers=h).raise_for_status()
            drafted = [
                "/console/",
                c,
                f"{c}/draft",
                f"{c}/discussion",
                f"{c}/notice",
                "/console/runs",
                f"/console/runs/{run['id']}",
                f"{c}/audit",
            ]
            _print(
                "discussion, the plan adopted: the planner's pages",
                _time_pages(planner, drafted, args.repeat),
                cycle,
            )
            # on through the reviews and the notice to delivery
            api.post(f"/cycles/{cycle}/moves/submit", headers=h).raise_for_status()
            for reviewer in ("street_reviewer", "district_reviewer"):
                api.post(
                    f"/cycles/{cycle}/moves/approve", headers={"X-API-Key": keys[reviewer]}
                ).raise_for_status()
            api.post(f"/cycles/{cycle}/moves/publish", headers=h).raise_for_status()
            api.post(f"/cycles/{cycle}/moves/start_delivery", headers=h).raise_for_status()
            delivering = [
                "/console/",
                f"{c}/notice",
                f"{c}/delivery",
                f"{c}/evaluation",
                f"/public/cycles/{cycle}/communities/C-JUNMEN",
            ]
            _print(
                "delivery, the list published: the planner's pages",
                _time_pages(planner, delivering, args.repeat),
                cycle,
            )
            community = _browser(base, "community", users["community"])
            _print(
                "the community secretary's pages",
                _time_pages(
                    community,
                    ["/console/", c, f"{c}/lists", f"{c}/discussion", f"{c}/delivery"],
                    args.repeat,
                ),
                cycle,
            )
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
