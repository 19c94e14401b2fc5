"""Fixtures of the service tests: stores (SQLite, PostgreSQL), apps, keys, datasets.

Helpers are handed out as fixtures (the tests directory is not a package).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
import time
import uuid
import warnings
import zipfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

# starlette asks for httpx2 in its TestClient; httpx is what FastAPI documents today.
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")

from console_kit import ConsoleKit, add_users  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from api.db.models import CYCLE_KEY_ROLES  # noqa: E402
from api.db.session import (  # noqa: E402
    make_engine,
    make_sessionmaker,
    migrate,
    session_scope,
)
from api.main import create_app  # noqa: E402
from api.security import create_key  # noqa: E402
from api.settings import Settings  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "tests" / "data" / "example" / "dataset"
BROKEN = ROOT / "tests" / "data" / "broken"
PG_BASE = os.environ.get("MATCHER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def head_revision() -> str:
    """The newest revision of the store's migrations (what a migrated store is at)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from api.db.session import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return str(head)


def zip_folder(folder: Path, prefix: str = "") -> bytes:
    """A zip of a dataset folder's files (optionally inside a folder ``prefix``)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            if path.is_file():
                archive.write(path, f"{prefix}{path.name}")
    return buffer.getvalue()


@pytest.fixture(scope="session")
def example_zip() -> bytes:
    """The spec's worked example as a zip."""
    return zip_folder(EXAMPLE, "example/")


@pytest.fixture(scope="session")
def slow_zip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A generated city (scale 0.2) whose solve takes several seconds."""
    from matcher.inputs.generate import generate
    from matcher.inputs.io import write_tables

    folder = tmp_path_factory.mktemp("slow")
    write_tables(generate(scale=0.2, seed=1), folder)
    return zip_folder(folder)


@pytest.fixture(scope="session")
def rules_zip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The example with integer-rule data: funds on D1 (Gulou) and D2 (Taijiang), a
    municipal funder, and lead options for both."""
    import pandas as pd

    import matcher
    from matcher.inputs.io import write_tables

    tables = matcher.load_dataset(EXAMPLE).tables()
    demands = tables["demands"]
    demands["funds"] = [3000.0, 2000.0, None, None, None]
    funder = {
        "resource_id": "F1",
        "unit_id": "U-MUNI",
        "kind": "funds",
        "categories": "",
        "amount": 10000,
    }
    tables["resources"] = pd.concat(
        [tables["resources"], pd.DataFrame([funder])], ignore_index=True
    )
    tables["demands"] = demands
    tables["lead_options"] = pd.DataFrame(
        {
            "demand_id": ["D1", "D1", "D2"],
            "unit_id": ["U-MUNI", "U-JCY", "U-JCY"],
            "effort": [1, 1, 1],
            "cost": [2, 1, 3],
        }
    )
    folder = tmp_path_factory.mktemp("rules")
    write_tables(tables, folder)
    return zip_folder(folder)


@pytest.fixture
def broken_case(tmp_path: Path) -> Callable[[str], Path]:
    """Build a broken case of tests/data/broken (an overlay on the example)."""

    def build(name: str) -> Path:
        folder = tmp_path / name
        shutil.copytree(EXAMPLE, folder)
        for path in (BROKEN / name).iterdir():
            if path.name == "DELETE":
                for line in path.read_text().split():
                    (folder / line).unlink(missing_ok=True)
            else:
                shutil.copy(path, folder / path.name)
        return folder

    return build


def _pg_reachable(url: str) -> str | None:
    from sqlalchemy import text

    try:
        engine = make_engine(url)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:
        return str(exc).splitlines()[0]
    return None


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL on a fresh schema of its own, dropped afterwards.

    Skips when PostgreSQL cannot be reached, except in CI (``CI=true``), where it fails.
    """
    from sqlalchemy import text

    problem = _pg_reachable(PG_BASE)
    if problem:
        message = f"PostgreSQL at {PG_BASE} is not reachable: {problem}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    schema = f"matcher_test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_BASE)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_BASE}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file URL in the test's folder."""
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each store in turn: a SQLite file, then a PostgreSQL schema."""
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    url: str = request.getfixturevalue(name)
    return url


@dataclass
class Service:
    """A running app (TestClient) and its store, with keys for each role."""

    client: TestClient
    url: str
    keys: dict[str, str]

    def h(self, role: str = "admin") -> dict[str, str]:
        """Headers with the key of ``role``."""
        return {"X-API-Key": self.keys[role]}

    def upload(self, data: bytes, role: str = "planner") -> dict[str, Any]:
        """Upload a dataset zip; returns the dataset (asserts 200/201)."""
        r = self.client.post(
            "/datasets", content=data, headers={**self.h(role), "Content-Type": "application/zip"}
        )
        assert r.status_code in (200, 201), r.text
        body: dict[str, Any] = r.json()
        return body

    def start_run(self, dataset_id: str, **body: Any) -> dict[str, Any]:
        """Queue a run; returns it (asserts 202)."""
        r = self.client.post(
            "/runs", json={"dataset_id": dataset_id, **body}, headers=self.h("planner")
        )
        assert r.status_code == 202, r.text
        run: dict[str, Any] = r.json()
        return run

    def wait(
        self,
        run_id: str,
        until: tuple[str, ...] = ("succeeded", "failed", "cancelled"),
        timeout: float = 60,
    ) -> dict[str, Any]:
        """Poll a run until its status is one of ``until``."""
        deadline = time.monotonic() + timeout
        while True:
            r = self.client.get(f"/runs/{run_id}", headers=self.h("viewer"))
            assert r.status_code == 200, r.text
            run: dict[str, Any] = r.json()
            if run["status"] in until:
                return run
            assert time.monotonic() < deadline, f"run stuck in {run['status']}"
            time.sleep(0.05)


def make_keys(url: str) -> dict[str, str]:
    """Keys for admin, planner, viewer, a viewer and a planner scoped to Gulou, and each
    cycle role (community, unit, street_reviewer, district_reviewer) in Gulou."""
    engine = make_engine(url)
    migrate(engine)
    keys = {}
    with session_scope(make_sessionmaker(engine)) as session:
        for role in ("admin", "planner", "viewer"):
            keys[role] = create_key(session, role, f"test {role}")[1]
        keys["gulou"] = create_key(session, "viewer", "Gulou only", ["Gulou"])[1]
        keys["gulou_planner"] = create_key(session, "planner", "Gulou planner", ["Gulou"])[1]
        # The cycle's roles, in Gulou (narrower ones are made by the tests that need them)
        for role in CYCLE_KEY_ROLES:
            keys[role] = create_key(session, role, f"Gulou {role}", ["Gulou"])[1]
    engine.dispose()
    return keys


@pytest.fixture
def service_factory() -> Iterator[Callable[..., AbstractContextManager[Service]]]:
    """Start an app on a store: ``with service_factory(url, **settings) as svc: ...``."""

    @contextmanager
    def start(url: str, **settings: Any) -> Iterator[Service]:
        keys = make_keys(url)
        # Tests poll runs every 0.05 s with one key; the brakes have tests of their own
        # (test_api_brakes.py), so here they are off unless a test turns them on.
        settings.setdefault("rate_limits", False)
        settings.setdefault("max_queued_runs_per_key", 0)
        app = create_app(Settings(database_url=url, dispatch_interval_s=0.05, **settings))
        with TestClient(app, raise_server_exceptions=False) as client:
            yield Service(client, url, keys)

    yield start


@pytest.fixture
def svc(
    sqlite_url: str, service_factory: Callable[..., AbstractContextManager[Service]]
) -> Iterator[Service]:
    """A service on a fresh SQLite store."""
    with service_factory(sqlite_url) as service:
        yield service


@pytest.fixture
def zipper() -> Callable[..., bytes]:
    """``zipper(folder, prefix="")``: a zip of a dataset folder."""
    return zip_folder


@pytest.fixture(scope="session")
def kit() -> SimpleNamespace:
    """The helpers of this conftest, for module-scoped fixtures and tests."""
    return SimpleNamespace(
        Service=Service,
        make_keys=make_keys,
        zip_folder=zip_folder,
        create_app=create_app,
        Settings=Settings,
        TestClient=TestClient,
    )


MATCHER_BIN = str(Path(sys.executable).with_name("matcher"))


@dataclass
class LiveServer:
    """A real ``matcher serve`` (uvicorn on 127.0.0.1) on its own SQLite or PostgreSQL
    store, with keys for admin, planner, viewer, a Gulou viewer and a Gulou planner."""

    process: Any
    base: str
    url: str
    keys: dict[str, str]
    log: Path

    @property
    def pid(self) -> int:
        """The server's process id."""
        return int(self.process.pid)

    def rss_mib(self) -> float:
        """The server process's resident memory now (MiB; its workers not counted)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmRSS")

    def h(self, role: str = "admin") -> dict[str, str]:
        """Headers with the key of ``role``."""
        return {"X-API-Key": self.keys[role]}

    def assert_memory(self, before_mib: float, limit_mib: float, what: str) -> float:
        """Assert that the server's RSS grew by at most ``limit_mib`` since
        ``before_mib`` (printed, with ``what``); returns the growth."""
        now = self.rss_mib()
        print(f"{what}: server RSS {before_mib:.0f} -> {now:.0f} MiB")
        assert self.alive(), f"{what}: the server died"
        assert now - before_mib <= limit_mib, f"{what}: RSS {before_mib:.0f} -> {now:.0f} MiB"
        return now - before_mib

    def alive(self) -> bool:
        """Whether the server process still runs."""
        return bool(self.process.poll() is None)


def spawn_server(environ: dict[str, str], cwd: Path, log: Path) -> tuple[Any, str]:
    """Start ``matcher serve`` on a free loopback port in its own process group (so that
    :func:`kill_server` stops its workers too) and wait until ``/health`` answers;
    returns the process and the base URL."""
    import socket
    import subprocess

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    process = subprocess.Popen(
        [MATCHER_BIN, "serve", "--port", str(port)],
        cwd=cwd,
        env=environ,
        stdout=log.open("wb"),
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
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, 9)
            raise AssertionError("server did not start: " + log.read_text())
        time.sleep(0.1)


def kill_server(process: Any) -> None:
    """Stop a server of :func:`spawn_server` and its worker processes at once."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, 9)
    process.wait(timeout=10)


@pytest.fixture
def live_server(
    tmp_path: Path,
) -> Iterator[Callable[..., LiveServer]]:
    """``live_server(url=None, **env)``: start ``matcher serve`` on a free loopback port
    with extra environment (``MATCHER_...`` settings); stopped (with its workers) after
    the test. ``url`` defaults to a SQLite file in the test's folder."""
    started: list[LiveServer] = []

    def start(url: str | None = None, **env: str) -> LiveServer:
        url = url or f"sqlite:///{tmp_path / f'live-{len(started)}.db'}"
        keys = make_keys(url)
        environ = dict(os.environ)
        environ.update(
            DATABASE_URL=url,
            MATCHER_DISPATCH_INTERVAL_S="0.1",
            MATCHER_LOG_LEVEL="warning",
            **env,
        )
        log = tmp_path / f"live-{len(started)}.log"
        process, base = spawn_server(environ, tmp_path, log)
        server = LiveServer(process, base, url, keys, log)
        started.append(server)
        return server

    yield start
    for server in started:
        kill_server(server.process)


@pytest.fixture
def each_svc(
    db_url: str, service_factory: Callable[..., AbstractContextManager[Service]]
) -> Iterator[Service]:
    """A service on each store in turn (SQLite, PostgreSQL)."""
    with service_factory(db_url) as service:
        yield service


def delivery_cycle(svc: Service, options: dict[str, Any] | None = None) -> SimpleNamespace:
    """A Gulou cycle in phase delivery, its version 1 the plan of a run on the demo
    dataset, published as the notice's publish does it (the reviews' approvals set
    directly), with the plan's Gulou assignments and demand status as the service
    exports them (tests/api/test_api_cycle_delivery.py, test_api_cycle_evaluation.py)."""
    import pandas as pd

    from api.cycles import notice
    from api.cycles.access import Actor
    from api.db.models import Cycle, CycleReview

    dataset = svc.upload(zip_folder(ROOT / "datasets" / "fuzhou-demo"))
    made = svc.client.post(
        "/cycles",
        json={
            "district": "Gulou",
            "period": "2026-Q4",
            "dataset_id": dataset["id"],
            "options": options or {},
        },
        headers=svc.h("planner"),
    )
    assert made.status_code == 201, made.text
    cycle_id = made.json()["id"]
    run = svc.wait(svc.start_run(dataset["id"])["id"])
    assert run["status"] == "succeeded", run
    with session_scope(svc.client.app.state.sessionmaker) as session:
        cycle = session.get(Cycle, cycle_id)
        assert cycle is not None
        cycle.dataset_id = dataset["id"]
        cycle.draft_run_id = run["id"]
        # published as the notice's publish does it: version 1 and its projects
        for phase in ("street_review", "district_review"):
            session.add(
                CycleReview(cycle_id=cycle_id, phase=phase, decision="approve", run_id=run["id"])
            )
        session.flush()
        notice.publish(session, cycle, Actor("planner"))
        cycle.phase = "delivery"

    def table(name: str) -> pd.DataFrame:
        r = svc.client.get(f"/runs/{run['id']}/{name}.csv?district=Gulou", headers=svc.h())
        assert r.status_code == 200, r.text
        return pd.read_csv(io.StringIO(r.text), dtype={"supplier_id": str, "demand_id": str})

    return SimpleNamespace(
        id=cycle_id,
        dataset_id=dataset["id"],
        run_id=run["id"],
        assignments=table("assignments"),
        status=table("demand_status"),
    )


def narrow_key(svc: Service, role: str, **scope: list[str]) -> dict[str, str]:
    """Headers with a new key of ``role`` in Gulou, narrowed to ``scope``."""
    r = svc.client.post(
        "/keys", json={"role": role, "districts": ["Gulou"], **scope}, headers=svc.h("admin")
    )
    assert r.status_code == 201, r.text
    return {"X-API-Key": r.json()["key"]}


@pytest.fixture
def console(
    sqlite_url: str, service_factory: Callable[..., AbstractContextManager[Service]]
) -> Iterator[ConsoleKit]:
    """The console on a fresh SQLite store with the test users of ``console_kit``
    (cheap Argon2: 8 MiB)."""
    with service_factory(sqlite_url, password_memory_kib=8 * 1024) as svc:
        add_users(svc)
        yield ConsoleKit(svc)


@pytest.fixture
def each_console(
    db_url: str, service_factory: Callable[..., AbstractContextManager[Service]]
) -> Iterator[ConsoleKit]:
    """As ``console``, on each store in turn (SQLite, PostgreSQL)."""
    with service_factory(db_url, password_memory_kib=8 * 1024) as svc:
        add_users(svc)
        yield ConsoleKit(svc)
