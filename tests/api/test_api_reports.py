"""``GET /runs/{id}/report``: the HTML report of a stored run, and its comparison."""

from __future__ import annotations

import json
import re

import matcher
from matcher.report import PlanTables, build_report

EXAMPLE = "tests/data/example/dataset"


def _kpi_values(page: str) -> dict[str, object]:
    """Every KPI the page shows: dotted name -> the exact value it carries."""
    pairs = re.findall(r'data-kpi="([^"]+)" data-kpi-path=\'[^\']*\' data-value=\'([^\']*)\'', page)
    return {name: json.loads(value.replace("&quot;", '"')) for name, value in pairs}


def test_report_of_a_run_and_its_comparison(svc, example_zip: bytes) -> None:
    ds = svc.upload(example_zip)
    base = svc.wait(svc.start_run(ds["id"], label="base")["id"])
    dear = svc.wait(
        svc.start_run(ds["id"], label="dear travel", params={"travel_cost_per_km": 1.0})["id"]
    )
    assert base["status"] == dear["status"] == "succeeded"

    r = svc.client.get(f"/runs/{base['id']}/report", headers=svc.h("viewer"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    page = r.text
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    assert "军门社区" in page and 'id="compare"' not in page
    # the numbers shown are the run's KPIs
    kpis = svc.client.get(f"/runs/{base['id']}/kpis", headers=svc.h("viewer")).json()
    shown = _kpi_values(page)
    assert shown["hours_covered"] == kpis["hours_covered"]
    assert shown["coverage"] == kpis["coverage"] and shown["objective"] == kpis["objective"]
    # the same page as the library makes from the same plan, but for where the data came from
    plan = matcher.plan(EXAMPLE)
    local = build_report(PlanTables.from_plan(plan, "base"), EXAMPLE)
    body = re.compile(r"<main>.*</main>", re.S)
    strip = re.compile(r"Dataset <b>[^<]*</b>")
    assert body.search(page) and body.search(local)
    assert strip.sub("", body.search(page).group(0)) == strip.sub("", body.search(local).group(0))

    r = svc.client.get(
        f"/runs/{base['id']}/report", params={"against": dear["id"]}, headers=svc.h("viewer")
    )
    assert r.status_code == 200
    assert 'id="compare"' in r.text and "Comparison with dear travel" in r.text
    counts = re.search(r'id="compare-counts" data-demands-changed="(\d+)"', r.text)
    ours = svc.client.get(f"/runs/{base['id']}/demand_status", headers=svc.h("viewer")).json()
    theirs = svc.client.get(f"/runs/{dear['id']}/demand_status", headers=svc.h("viewer")).json()
    changed = {
        a["demand_id"]
        for a, b in zip(ours["items"], theirs["items"], strict=True)
        if a["covered_hours"] != b["covered_hours"]
    }
    assert counts and int(counts.group(1)) == len(changed) > 0


def test_report_refusals(svc, example_zip: bytes) -> None:
    ds = svc.upload(example_zip)
    run = svc.wait(svc.start_run(ds["id"])["id"])
    url = f"/runs/{run['id']}/report"
    r = svc.client.get(url, headers=svc.h("gulou"))
    assert r.status_code == 403 and r.json()["code"] == "forbidden_report"
    assert "Gulou" in r.json()["detail"]
    assert svc.client.get(url).status_code == 401
    r = svc.client.get("/runs/nope/report", headers=svc.h("viewer"))
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = svc.client.get(url, params={"against": "nope"}, headers=svc.h("viewer"))
    assert r.status_code == 404
