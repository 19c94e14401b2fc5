"""The console's draft page of a cycle: a plan run queued on the cycle's lists from the
form, its state polled, adopted as the draft, an edit re-planned with its churn shown,
refused forms keeping what was typed, and who reads what."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import ROOT, zip_folder
from console_kit import ConsoleKit

from api.db.models import Cycle, CycleVersion
from api.db.session import session_scope

DEMO = ROOT / "datasets" / "fuzhou-demo"
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def demo_zip() -> bytes:
    """The demo dataset as a zip."""
    return zip_folder(DEMO)


def _planning(console: ConsoleKit, demo_zip: bytes, period: str = "2026-Q4") -> str:
    svc = console.svc
    ds = svc.upload(demo_zip)
    r = svc.client.post(
        "/cycles",
        json={"district": "Gulou", "period": period, "dataset_id": ds["id"]},
        headers=svc.h("planner"),
    )
    assert r.status_code == 201, r.text
    cid = str(r.json()["id"])
    r = svc.client.post(f"/cycles/{cid}/moves/open_planning", headers=svc.h("planner"))
    assert r.status_code == 200, r.text
    return cid


def _cycle_runs(console: ConsoleKit, cid: str) -> list[dict[str, Any]]:
    ds = console.svc.client.get(f"/cycles/{cid}", headers=console.svc.h("planner")).json()
    r = console.svc.client.get(
        f"/runs?dataset_id={ds['dataset_id']}", headers=console.svc.h("viewer")
    )
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def test_draft_page_run_adopt_edit(console: ConsoleKit, demo_zip: bytes) -> None:
    cid = _planning(console, demo_zip)
    url = f"/console/cycles/{cid}/draft"
    planner = console.as_("planner")
    r = planner.get(url)
    assert r.status_code == 200, r.text
    assert f'href="/console/cycles/{cid}/draft" aria-current="page"' in r.text  # the tabs
    assert f'action="/console/cycles/{cid}/draft/runs"' in r.text
    assert 'name="params.max_travel_km"' in r.text
    # out of scope, and read-only roles
    assert console.as_("cangshan").get(url).status_code == 403
    for who in ("community", "unit", "street_reviewer", "district_reviewer"):
        r = console.as_(who).get(url)
        assert r.status_code == 200, (who, r.text)
        assert '/draft/runs"' not in r.text and "/draft/edits" not in r.text

    # a refused run form keeps what was typed
    r = planner.post(f"{url}/runs", {"label": SCRIPT, "params.workers": "0"})
    assert r.status_code == 422
    assert 'id="params.workers-error"' in r.text and 'value="0"' in r.text
    assert SCRIPT not in r.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    assert planner.post(f"{url}/runs", {"label": "x"}, token=False).status_code == 403

    # queue a run: it is polled until it ends
    r = planner.post(f"{url}/runs", {"label": SCRIPT})
    assert r.status_code == 303, r.text
    runs = _cycle_runs(console, cid)
    assert len(runs) == 1 and runs[0]["label"] == SCRIPT
    run_id = runs[0]["id"]
    r = planner.get(url)
    assert SCRIPT not in r.text and "&lt;script&gt;" in r.text
    run = console.svc.wait(run_id, timeout=120)
    assert run["status"] == "succeeded", run
    r = planner.get(f"{url}/runs", headers={"HX-Request": "true"})
    assert r.status_code == 200 and r.headers.get("HX-Refresh") == "true"
    assert "hx-get" not in r.text and f'value="{run_id}"' in r.text
    assert console.as_("community").get(f"{url}/runs").status_code == 403

    # adopt it: refused for a run that is not one of the cycle's, then adopted
    r = planner.post(f"{url}/adopt", {"run_id": "nosuchrun"})
    assert r.status_code == 422 and 'role="alert"' in r.text
    r = planner.post(f"{url}/adopt", {"run_id": run_id})
    assert r.status_code == 303
    page = planner.get(url).text
    assert "the draft" in page or "草案" in page
    assert f'action="/console/cycles/{cid}/draft/edits"' in page
    # the community reads the public list: no supplier named
    public = console.as_("community").get(url).text
    assert "supplier_id=" not in public

    # an edit: exclude the first supplier a project has (a link fills in the form)
    found = re.search(
        r'href="/console/cycles/[0-9a-f]+/draft\?supplier_kind=(\w+)&amp;supplier_id=([^&]+)'
        r"&amp;demand_id=([^#]+)#edit",
        page,
    )
    assert found is not None
    kind, supplier, demand = found.groups()
    filled = planner.get(f"{url}?supplier_kind={kind}&supplier_id={supplier}&demand_id={demand}")
    assert f'value="{supplier}"' in filled.text
    # refused: a supplier that is not in the draft; what was typed is kept
    r = planner.post(
        f"{url}/edits",
        {"action": "pin", "supplier_kind": kind, "supplier_id": SCRIPT, "demand_id": demand},
    )
    assert r.status_code == 422, r.text
    assert 'id="supplier_id-error"' in r.text
    assert SCRIPT not in r.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    r = planner.post(
        f"{url}/edits",
        {
            "action": "exclude",
            "supplier_kind": kind,
            "supplier_id": supplier,
            "demand_id": demand,
            "change_penalty": "10000",
        },
    )
    assert r.status_code == 303, r.text
    page = planner.get(url).text
    assert 'id="edits"' in page
    edits = console.svc.client.get(f"/cycles/{cid}/edits", headers=console.svc.h("planner"))
    churn = edits.json()[0]["churn"]
    assert churn["hours_removed"] > 0
    assert f">{churn['hours_changed']}<" in page or f">{churn['hours_changed']:,}<" in page
    # a reviewer reads the edits, without the forms
    reviewer = console.as_("street_reviewer").get(url).text
    assert 'id="edits"' in reviewer and "/draft/edits" not in reviewer
    # no stable plan is offered without a cycle before
    assert "/draft/stable" not in page


def test_stable_plan_against_the_cycle_before(console: ConsoleKit, demo_zip: bytes) -> None:
    svc = console.svc
    first = _planning(console, demo_zip)
    r = svc.client.post(f"/cycles/{first}/runs", json={}, headers=svc.h("planner"))
    assert r.status_code == 202, r.text
    run_id = r.json()["id"]
    assert svc.wait(run_id, timeout=120)["status"] == "succeeded"
    second = _planning(console, demo_zip, "2027-Q1")
    url = f"/console/cycles/{second}/draft"
    planner = console.as_("planner")
    assert "/draft/stable" not in planner.get(url).text
    # the first cycle published (the notice's work), the second opened after it
    with session_scope(svc.client.app.state.sessionmaker) as session:
        session.add(CycleVersion(cycle_id=first, version=1, run_id=run_id))
        cycle = session.get(Cycle, second)
        assert cycle is not None
        cycle.previous_cycle_id = first
    page = planner.get(url).text
    assert f'action="/console/cycles/{second}/draft/stable"' in page
    assert 'id="f-stable_penalty"' in page and 'id="f-change_penalty"' not in page
    r = planner.post(f"{url}/stable", {"stable_penalty": "-1"})
    assert r.status_code == 422 and 'id="stable_penalty-error"' in r.text
    assert 'value="-1"' in r.text
    assert planner.post(f"{url}/stable", {"stable_penalty": "1"}, token=False).status_code == 403
    assert (
        console.as_("street_reviewer").post(f"{url}/stable", {"stable_penalty": "1"}).status_code
        == 403
    )
    r = planner.post(f"{url}/stable", {"stable_penalty": "1"})
    assert r.status_code == 303, r.text
    page = planner.get(url).text
    assert "稳定规划" in page or "stable plan" in page
    edits = svc.client.get(f"/cycles/{second}/edits", headers=svc.h("planner")).json()
    assert [e["action"] for e in edits] == ["stable_plan"] and edits[0]["run_before"] == run_id
    assert f'href="/console/runs/{edits[0]["run_after"]}"' in page
