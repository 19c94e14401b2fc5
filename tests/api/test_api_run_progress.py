"""A run's progress over HTTP: null before it starts, a stage while it runs, the last
(the ``tables`` stage with the solver's objective and bound) once it has succeeded."""

from __future__ import annotations

import time

from sqlalchemy import create_engine, text

from matcher.progress import STAGES


def test_a_finished_run_carries_its_last_progress(svc, example_zip: bytes) -> None:
    ds = svc.upload(example_zip)
    queued = svc.start_run(ds["id"])
    assert queued["progress"] is None  # not started yet
    run = svc.wait(queued["id"])
    assert run["status"] == "succeeded", run["error"]
    progress = run["progress"]
    assert progress["stage"] == "tables"
    assert abs(progress["incumbent"] - run["objective"]) < 1e-5
    assert abs(progress["bound"] - run["bound"]) < 1e-5
    assert progress["gap"] is not None and progress["gap"] >= 0
    assert progress["elapsed_s"] > 0 and progress["part"] is None
    # Kept as JSON in the store, for dashboards.
    engine = create_engine(svc.url)
    with engine.connect() as conn:
        stored = conn.execute(
            text("select progress from runs where id = :r"), {"r": run["id"]}
        ).scalar_one()
    engine.dispose()
    assert stored is not None and "tables" in str(stored)
    # A district-scoped reader does not see the city-wide objective and bound.
    scoped = svc.client.get(f"/runs/{run['id']}", headers=svc.h("gulou")).json()
    assert scoped["progress"]["stage"] == "tables"
    assert scoped["progress"]["incumbent"] is None and scoped["progress"]["bound"] is None


def test_a_running_run_shows_its_stage(svc, slow_zip: bytes) -> None:
    ds = svc.upload(slow_zip)
    run = svc.start_run(ds["id"], label="slow")
    seen: list[dict] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        now = svc.client.get(f"/runs/{run['id']}", headers=svc.h("viewer")).json()
        if now["status"] == "running" and now["progress"] is not None:
            seen.append(now["progress"])
            if now["progress"]["round"] is not None or now["progress"]["stage"] == "tables":
                break
        elif now["status"] != "queued" and now["status"] != "running":
            break
        time.sleep(0.05)
    assert seen, "no progress was seen while the run ran"
    stages = [p["stage"] for p in seen]
    assert set(stages) <= set(STAGES)
    assert stages == sorted(stages, key=STAGES.index)
    elapsed = [p["elapsed_s"] for p in seen]
    assert elapsed == sorted(elapsed)
    # A city this size is planned by column generation: its rounds show with a bound.
    (first_round,) = [p for p in seen if p["round"] is not None][:1]
    assert first_round["stage"] == "solve" and first_round["bound"] is not None
    r = svc.client.post(f"/runs/{run['id']}/cancel", headers=svc.h("planner"))
    assert r.status_code in (200, 409)
    # A stopped run keeps the last progress its worker wrote.
    after = svc.client.get(f"/runs/{run['id']}", headers=svc.h("viewer")).json()
    assert after["progress"] is not None
