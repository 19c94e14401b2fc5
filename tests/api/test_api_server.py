"""A real server: ``matcher serve`` under uvicorn on 127.0.0.1, driven over HTTP; the
server killed mid-run and restarted."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from conftest import kill_server, spawn_server
from sqlalchemy import create_engine, text

from api.worker import INTERRUPTED

MATCHER = str(Path(sys.executable).with_name("matcher"))


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str
    log: Path


def pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


@pytest.fixture
def server_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'matcher.db'}",
        MATCHER_DISPATCH_INTERVAL_S="0.1",
        MATCHER_LOG_LEVEL="warning",
    )
    return env


@pytest.fixture
def start_server(tmp_path: Path, server_env: dict[str, str]) -> Iterator[Callable[[], Server]]:
    started: list[Server] = []

    def start() -> Server:
        log = tmp_path / f"server-{len(started)}.log"
        process, base = spawn_server(server_env, tmp_path, log)
        server = Server(process, base, log)
        started.append(server)
        return server

    yield start
    for server in started:  # always stop what we started: the server and its workers
        kill_server(server.process)


def create_key(env: dict[str, str], role: str, *extra: str) -> str:
    out = subprocess.run(
        [MATCHER, "create-key", "--role", role, *extra],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    token = out.stdout.strip()
    assert token.startswith("mk_") and "shown only now" in out.stderr
    return token


def wait(client: httpx.Client, run_id: str, until: tuple[str, ...], timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        run = client.get(f"/runs/{run_id}").json()
        if run["status"] in until:
            return run
        assert time.monotonic() < deadline, run
        time.sleep(0.1)


def test_real_server_flow_health_latency_and_kill_restart(
    start_server, server_env: dict[str, str], example_zip: bytes, slow_zip: bytes
) -> None:
    admin = create_key(server_env, "admin")
    server = start_server()
    with httpx.Client(base_url=server.base, headers={"X-API-Key": admin}, timeout=30) as client:
        assert httpx.get(server.base + "/datasets").status_code == 401
        planner = client.post("/keys", json={"role": "planner"}).json()["key"]
        client.headers["X-API-Key"] = planner
        ds = client.post("/datasets", files={"file": ("example.zip", example_zip)}).json()
        r = client.post(
            "/runs",
            json={"dataset_id": ds["id"], "label": "before"},
            headers={"Idempotency-Key": "first"},
        )
        assert r.status_code == 202 and r.headers["location"].startswith("/runs/")
        done = wait(client, r.json()["id"], ("succeeded", "failed"))
        assert done["status"] == "succeeded"
        assert client.get(f"/runs/{done['id']}/assignments.csv").text.startswith("supplier_kind,")

        def health_latencies(n: int = 20) -> list[float]:
            out = []
            with httpx.Client(base_url=server.base, timeout=5) as probe:
                for _ in range(n):
                    t0 = time.perf_counter()
                    assert probe.get("/health").status_code == 200
                    out.append(time.perf_counter() - t0)
                    time.sleep(0.02)
            return out

        idle = health_latencies()
        slow = client.post(
            "/datasets", content=slow_zip, headers={"Content-Type": "application/zip"}
        )
        assert slow.status_code == 201
        running = client.post(
            "/runs", json={"dataset_id": slow.json()["id"], "label": "slow"}
        ).json()
        wait(client, running["id"], ("running",))
        time.sleep(0.5)  # the worker is solving now
        busy = health_latencies()
        for _ in range(5):  # reads answer too
            assert client.get(f"/runs/{done['id']}/assignments?limit=5").status_code == 200
        print(
            f"/health idle: median {1000 * statistics.median(idle):.1f} ms, "
            f"max {1000 * max(idle):.1f} ms; while solving: median "
            f"{1000 * statistics.median(busy):.1f} ms, max {1000 * max(busy):.1f} ms"
        )
        assert max(busy) < 1.0
        assert client.get(f"/runs/{running['id']}").json()["status"] == "running"

    engine = create_engine(server_env["DATABASE_URL"])
    with engine.connect() as conn:
        worker = conn.execute(
            text("select worker_pid from runs where id = :r"), {"r": running["id"]}
        ).scalar_one()
    assert worker and pid_alive(worker)

    os.kill(server.process.pid, signal.SIGKILL)  # the server dies mid-run
    server.process.wait(timeout=10)
    deadline = time.monotonic() + 10
    while pid_alive(worker):  # its worker notices and exits by itself
        assert time.monotonic() < deadline, "the worker outlived its server"
        time.sleep(0.1)

    again = start_server()
    with httpx.Client(base_url=again.base, headers={"X-API-Key": admin}, timeout=30) as client:
        lost = client.get(f"/runs/{running['id']}").json()
        assert lost["status"] == "failed" and lost["error"] == INTERRUPTED
        kept = client.get(f"/runs/{done['id']}").json()
        assert kept["status"] == "succeeded" and kept["objective"] == done["objective"]
        assert client.get(f"/runs/{done['id']}/assignments").json()["total"] > 0
        assert {d["id"] for d in client.get("/datasets").json()["items"]} == {
            ds["id"],
            slow.json()["id"],
        }
        # the same Idempotency-Key from the same API key still gives the same run after the
        # restart; from another API key it is another request (keys are scoped)
        r = client.post(
            "/runs",
            json={"dataset_id": ds["id"], "label": "before"},
            headers={"Idempotency-Key": "first", "X-API-Key": planner},
        )
        assert r.json()["id"] == done["id"]
        r = client.post(
            "/runs",
            json={"dataset_id": ds["id"], "label": "before"},
            headers={"Idempotency-Key": "first"},
        )
        assert r.status_code == 202 and r.json()["id"] != done["id"]
        # and the restarted server plans again
        fresh = client.post("/runs", json={"dataset_id": ds["id"], "label": "after"}).json()
        assert wait(client, fresh["id"], ("succeeded", "failed"))["status"] == "succeeded"
    engine.dispose()
