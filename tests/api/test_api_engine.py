"""The service's ``engine`` setting: plan runs solve the labour flow's parts on Ray.

One service with ``engine="ray"``: its worker starts a local Ray for the run (no
``MATCHER_RAY_ADDRESS``), and a run with integer rules is planned in the worker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest

import matcher
from api.settings import Settings
from matcher.plans.tables import TIMING_KEYS

EXAMPLE = "tests/data/example/dataset"


def test_engine_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (Settings().engine, Settings().ray_address) == ("local", None)
    monkeypatch.setenv("MATCHER_ENGINE", "ray")
    monkeypatch.setenv("MATCHER_RAY_ADDRESS", "ray://head:10001")
    assert (Settings().engine, Settings().ray_address) == ("ray", "ray://head:10001")
    monkeypatch.setenv("MATCHER_ENGINE", "spark")
    with pytest.raises(ValueError, match="engine"):
        Settings()


@pytest.fixture
def ray_svc(
    sqlite_url: str,
    service_factory: Callable[..., AbstractContextManager[Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Any]:
    pytest.importorskip("ray")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with service_factory(sqlite_url, engine="ray") as service:
        yield service


def test_ray_engine_runs_give_the_library_plan(
    ray_svc: Any, example_zip: bytes, rules_zip: bytes
) -> None:
    svc = ray_svc
    ds = svc.upload(example_zip)
    run = svc.wait(svc.start_run(ds["id"])["id"], timeout=180)
    assert run["status"] == "succeeded", run
    kpis = svc.client.get(f"/runs/{run['id']}/kpis", headers=svc.h("viewer")).json()
    expected = matcher.plan(EXAMPLE).kpis
    drop = set(TIMING_KEYS)
    assert {k: v for k, v in kpis.items() if k not in drop} == {
        k: v for k, v in expected.items() if k not in drop
    }
    # Integer rules couple the parts: the run is planned in the worker, and succeeds.
    rules = svc.upload(rules_zip)
    run = svc.wait(svc.start_run(rules["id"])["id"], timeout=180)
    assert run["status"] == "succeeded", run
    assert "funds" in run["kpis"]["rules"]
