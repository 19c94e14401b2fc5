"""``GET /runs/{id}/report``: the HTML report of a stored run, and its comparison."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import matcher
from matcher.report.html import build_report

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
    local = build_report(replace(plan, label="base"), EXAMPLE)
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


def _skeleton(page: str) -> list[str]:
    """Every id and data-* attribute of a page, with its value, sorted."""
    return sorted(re.findall(r'\s((?:id|data-[a-z-]+)=(?:"[^"]*"|\'[^\']*\'))', page))


def _kept(url: str, run_id: str) -> dict[str, str | None]:
    """The store's kept artifacts of a run: name -> the other run it compares with."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("select name, other_run_id from run_artifacts where run_id = :r"), {"r": run_id}
        ).all()
    engine.dispose()
    return {r[0]: r[1] for r in rows}


def test_report_in_chinese(svc, example_zip: bytes) -> None:
    ds = svc.upload(example_zip)
    base = svc.wait(svc.start_run(ds["id"], label="base")["id"])
    dear = svc.wait(
        svc.start_run(ds["id"], label="dear travel", params={"travel_cost_per_km": 1.0})["id"]
    )
    url = f"/runs/{base['id']}/report"
    # the run's worker made the page in both languages
    assert {"report.en.html", "report.zh.html"} <= set(_kept(svc.url, base["id"]))

    en = svc.client.get(url, headers=svc.h("viewer"))
    asked = svc.client.get(url, params={"lang": "zh"}, headers=svc.h("viewer"))
    negotiated = svc.client.get(
        url, headers={**svc.h("viewer"), "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}
    )
    assert en.status_code == asked.status_code == negotiated.status_code == 200
    assert asked.text == negotiated.text != en.text
    zh = asked.text
    assert '<html lang="zh-CN">' in zh and "<h1>共建项目清单：base</h1>" in zh
    assert asked.headers["content-language"] == "zh-CN" and en.headers["content-language"] == "en"
    assert "accept-language" in asked.headers["vary"].lower()
    # the same page as the library makes in Chinese, but for where the data came from
    local = build_report(replace(matcher.plan(EXAMPLE), label="base"), EXAMPLE, lang="zh")
    body = re.compile(r"<main>.*</main>", re.S)
    assert body.search(zh).group(0) == body.search(local).group(0)  # type: ignore[union-attr]
    # the same ids, data-* attributes and KPIs as the English page
    assert _skeleton(zh) == _skeleton(en.text) and _kpi_values(zh) == _kpi_values(en.text)
    # ?lang= wins over the header
    r = svc.client.get(
        url, params={"lang": "en"}, headers={**svc.h("viewer"), "Accept-Language": "zh-CN"}
    )
    assert r.text == en.text

    # the comparison in Chinese, kept under its own name
    r = svc.client.get(url, params={"against": dear["id"], "lang": "zh"}, headers=svc.h("viewer"))
    assert r.status_code == 200 and "与 dear travel 对比" in r.text and 'id="compare"' in r.text
    kept = _kept(svc.url, base["id"])
    assert kept[f"report.zh.html:against:{dear['id']}"] == dear["id"]
    assert f"report.en.html:against:{dear['id']}" not in kept  # only what was asked for


def test_report_refusals_in_chinese(svc, example_zip: bytes) -> None:
    ds = svc.upload(example_zip)
    run = svc.wait(svc.start_run(ds["id"])["id"])
    url = f"/runs/{run['id']}/report"
    zh = {"Accept-Language": "zh-CN"}
    # a run without a label is named in the page's language
    r = svc.client.get(url, params={"lang": "zh"}, headers=svc.h("viewer"))
    assert f"<h1>共建项目清单：运行 {run['id'][:8]}</h1>" in r.text
    r = svc.client.get(url, headers=svc.h("viewer"))
    assert f"<h1>Co-construction plan: run {run['id'][:8]}</h1>" in r.text
    r = svc.client.get(url, params={"lang": "fr"}, headers=svc.h("viewer"))
    assert r.status_code == 422 and r.json()["code"] == "invalid_request"
    assert "'fr'" in r.json()["detail"] and "(en, zh)" in r.json()["detail"]
    r = svc.client.get(url, params={"lang": "fr"}, headers={**svc.h("viewer"), **zh})
    assert r.status_code == 422 and r.json()["code"] == "invalid_request"
    assert "'fr' 不是规划系统支持的语言" in r.json()["detail"]
    # codes stay, messages follow the language
    r = svc.client.get(url, params={"lang": "zh"}, headers=svc.h("gulou"))
    assert r.status_code == 403 and r.json()["code"] == "forbidden_report"
    assert "报告显示所有区的结果" in r.json()["detail"] and "Gulou" in r.json()["detail"]
    r = svc.client.get("/runs/nope/report", params={"lang": "zh"}, headers=svc.h("viewer"))
    assert r.status_code == 404 and r.json()["code"] == "not_found"
