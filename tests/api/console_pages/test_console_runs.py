"""The console's runs pages: the list and the form built from the plan parameters, a
run queued from it and its page (progress while it runs, cancel, then KPIs, tables with
filters and the framed report), two runs compared."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from conftest import EXAMPLE, zip_folder
from console_kit import ConsoleKit

import matcher
from api.db.models import Run, utcnow
from api.db.session import session_scope

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def dataset(console: ConsoleKit) -> str:
    """The spec's small example, stored."""
    return str(console.svc.upload(zip_folder(EXAMPLE))["id"])


def _queue(console: ConsoleKit, dataset: str, **fields: str) -> str:
    r = console.as_("admin").post("/console/runs", {"dataset_id": dataset, **fields})
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    assert location.startswith("/console/runs/")
    return location.rsplit("/", 1)[-1]


def test_list_and_form_for_planners_only(console: ConsoleKit, dataset: str) -> None:
    for who in ("admin", "planner", "cangshan"):
        r = console.as_(who).get("/console/runs")
        assert r.status_code == 200, (who, r.text)
    page = console.as_("admin").get("/console/runs").text
    # one field per parameter of matcher.PlanParams, with its meaning as help
    assert page.count('name="params.') + page.count('name="integer_rules.') == len(
        matcher.PlanParams.names()
    )
    assert 'id="params.max_travel_km-help"' in page
    assert dataset in page
    for who in ("community", "unit", "street_reviewer", "district_reviewer"):
        assert console.as_(who).get("/console/runs").status_code == 403


def test_queue_a_run_and_read_its_results(console: ConsoleKit, dataset: str) -> None:
    run_id = _queue(console, dataset, label=SCRIPT, **{"params.max_travel_km": "5"})
    run = console.svc.wait(run_id)
    assert run["status"] == "succeeded" and run["params"]["max_travel_km"] == 5.0
    assert run["label"] == SCRIPT
    admin = console.as_("admin")
    r = admin.get(f"/console/runs/{run_id}")
    assert r.status_code == 200
    assert SCRIPT not in r.text and "&lt;script&gt;" in r.text
    assert 'class="kpis"' in r.text and "hx-get" not in r.text
    assert '<iframe class="report" title="' in r.text
    assert f'src="/console/runs/{run_id}/report?lang=zh"' in r.text
    # the list shows it, escaped
    listed = admin.get("/console/runs").text
    assert run_id in listed and SCRIPT not in listed
    # the ended run's status part: no polling, and the page is refreshed
    r = admin.get(f"/console/runs/{run_id}/status", headers={"HX-Request": "true"})
    assert r.status_code == 200 and r.headers.get("HX-Refresh") == "true"
    assert "hx-get" not in r.text
    # the report, framed by the service only
    r = admin.get(f"/console/runs/{run_id}/report")
    assert r.status_code == 200 and r.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in r.headers["Content-Security-Policy"]
    assert r.text.lstrip().lower().startswith("<!doctype html")
    assert r.headers["Content-Language"].startswith("zh")  # the reader's language
    r = admin.get(f"/console/runs/{run_id}/report?lang=en")
    assert r.status_code == 200 and r.headers["Content-Language"].startswith("en")
    # filters and paging of the tables
    r = admin.get(f"/console/runs/{run_id}?s_status=met&a_unit=NO-SUCH-UNIT")
    assert r.status_code == 200
    r = admin.get(f"/console/runs/{run_id}?s_status=bogus")
    assert r.status_code == 422 and 'id="s_status-error"' in r.text
    # a planner of one district: its rows, no city-wide bound or report
    planner = console.as_("planner")
    r = planner.get(f"/console/runs/{run_id}")
    assert r.status_code == 200 and "<iframe" not in r.text
    assert planner.get(f"/console/runs/{run_id}/report").status_code == 403
    assert planner.get(f"/console/runs/{run_id}?a_district=Cangshan").status_code == 403
    assert console.as_("community").get(f"/console/runs/{run_id}").status_code == 403
    assert admin.get("/console/runs/nosuchrun").status_code == 404


def test_refused_form_keeps_what_was_typed(console: ConsoleKit, dataset: str) -> None:
    admin = console.as_("admin")
    r = admin.post(
        "/console/runs",
        {
            "dataset_id": dataset,
            "label": SCRIPT,
            "params.max_travel_km": "-1",
            "params.seed": "7",
            "integer_rules.funds": "false",
        },
    )
    assert r.status_code == 422
    assert 'id="params.max_travel_km-error"' in r.text and 'role="alert"' in r.text
    assert 'value="-1"' in r.text and 'value="7"' in r.text
    assert '<option value="false" selected>' in r.text
    assert SCRIPT not in r.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    # refused by the library's own check (PlanParams): the field named the API's way
    r = admin.post("/console/runs", {"dataset_id": dataset, "integer_rules.coverage_floor": "2"})
    assert r.status_code == 422 and 'id="integer_rules.coverage_floor-error"' in r.text
    # no such dataset
    r = admin.post("/console/runs", {"dataset_id": "nosuchdataset"})
    assert r.status_code == 404 and 'id="dataset_id-error"' in r.text
    # without the form token
    r = admin.post("/console/runs", {"dataset_id": dataset}, token=False)
    assert r.status_code == 403


def test_running_run_polls_and_cancels(console: ConsoleKit, dataset: str) -> None:
    run_id = uuid.uuid4().hex
    with session_scope(console.svc.client.app.state.sessionmaker) as session:
        session.add(
            Run(
                id=run_id,
                kind="plan",
                dataset_id=dataset,
                label="watched",
                status="running",
                params={},
                integer_rules={},
                time_limit_s=60.0,
                request_hash="0" * 64,
                created_at=utcnow(),
                started_at=utcnow(),
                claim_token="held-by-nobody",
                progress={"stage": "solve", "elapsed_s": 12.3, "round": 7, "bound": 12345.6},
            )
        )
    admin = console.as_("admin")
    r = admin.get(f"/console/runs/{run_id}")
    assert r.status_code == 200
    assert f'hx-get="/console/runs/{run_id}/status"' in r.text
    assert 'hx-trigger="every 2s"' in r.text and 'hx-swap="outerHTML"' in r.text
    assert "<progress" in r.text and f'<label for="run-progress-{run_id}">' in r.text
    assert "求解" in r.text or "solving" in r.text  # the stage, in the reader's language
    r = admin.get(f"/console/runs/{run_id}/status", headers={"HX-Request": "true"})
    assert r.status_code == 200 and "HX-Refresh" not in r.headers
    assert 'hx-trigger="every 2s"' in r.text and "12,345.6" in r.text
    # a district planner does not see the city-wide bound
    assert "12,345.6" not in console.as_("planner").get(f"/console/runs/{run_id}/status").text
    assert admin.post(f"/console/runs/{run_id}/cancel", token=False).status_code == 403
    r = admin.post(f"/console/runs/{run_id}/cancel")
    assert r.status_code == 303
    r = admin.get(f"/console/runs/{run_id}/status", headers={"HX-Request": "true"})
    assert r.headers.get("HX-Refresh") == "true" and "hx-get" not in r.text
    # cancelling an ended run: its page says why
    r = admin.post(f"/console/runs/{run_id}/cancel")
    assert r.status_code == 409 and 'role="alert"' in r.text


def test_compare_two_runs(console: ConsoleKit, dataset: str) -> None:
    a = _queue(console, dataset)
    b = _queue(console, dataset, **{"params.max_travel_km": "2"})
    for run_id in (a, b):
        assert console.svc.wait(run_id)["status"] == "succeeded"
    admin = console.as_("admin")
    r = admin.get("/console/runs/compare")
    assert r.status_code == 200 and 'name="a"' in r.text and 'name="b"' in r.text
    r = admin.get(f"/console/runs/compare?a={a}&b={b}")
    assert r.status_code == 200, r.text
    assert "覆盖率" in r.text and '<th scope="row">' in r.text
    assert console.as_("planner").get(f"/console/runs/compare?a={a}&b={b}").status_code == 200
    assert console.as_("unit").get("/console/runs/compare").status_code == 403


def test_a_users_queued_runs_are_capped_like_a_keys(sqlite_url: str, service_factory: Any) -> None:
    """``MATCHER_MAX_QUEUED_RUNS_PER_KEY`` holds for a console user too: their runs are
    theirs (``runs.created_by_user``), counted apart from other users' and keys'."""
    from console_kit import add_users

    with service_factory(sqlite_url, max_queued_runs_per_key=2, password_memory_kib=8192) as svc:
        svc.client.app.state.dispatcher.stop()  # the runs stay queued
        add_users(svc)
        kit = ConsoleKit(svc)
        dataset = svc.upload(zip_folder(EXAMPLE))["id"]
        admin = kit.as_("admin")
        for _ in range(2):
            assert admin.post("/console/runs", {"dataset_id": dataset}).status_code == 303
        r = admin.post("/console/runs", {"dataset_id": dataset, "label": "third"})
        assert r.status_code == 429 and 'value="third"' in r.text
        with session_scope(svc.client.app.state.sessionmaker) as session:
            users = {run.created_by_user for run in session.query(Run)}
        assert len(users) == 1 and None not in users
        # another user (and a key) still may
        assert kit.as_("planner").post("/console/runs", {"dataset_id": dataset}).status_code == 303
        svc.start_run(dataset)
