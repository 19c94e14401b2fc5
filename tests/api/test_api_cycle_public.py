"""The public notice (公示) without a key: a community's page in Chinese and English, its
JSON and the list's CSV, the objection form, the phases where the list is not on
notice, HTML escaping, the limit on the public's writes, and privacy: no cadre id, no
coordinates, no cadre's home and no objector's contact in anything served."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from api.db.models import Cycle, CycleReview

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "datasets" / "fuzhou-demo"
CONTACT = "objector-phone-13912345678"


def gulou_demands() -> pd.DataFrame:
    """The demo's Gulou demands with their community (read from the CSV files)."""
    demands = pd.read_csv(DEMO / "demands.csv", dtype={"demand_id": str})
    communities = pd.read_csv(DEMO / "communities.csv")
    merged = demands.merge(communities[["community_id", "district"]], on="community_id")
    return merged[merged["district"] == "Gulou"].reset_index(drop=True)


def stage(svc: Any, cycle_id: str, phase: str, dataset_id: str, run_id: str) -> None:
    """Put the cycle in ``phase`` with its snapshot, draft and both approvals."""
    with svc.client.app.state.sessionmaker() as session:
        row = session.get(Cycle, cycle_id)
        row.phase, row.dataset_id, row.draft_run_id = phase, dataset_id, run_id
        for review in ("street_review", "district_review"):
            session.add(
                CycleReview(
                    cycle_id=cycle_id,
                    phase=review,
                    decision="approve",
                    reason="",
                    run_id=run_id,
                    at=dt.datetime(2026, 11, 1),
                )
            )
        session.commit()


@pytest.fixture
def notice(svc: Any, zipper: Any) -> dict[str, Any]:
    """A Gulou cycle on public notice with a draft of the demo."""
    dataset = str(svc.upload(zipper(DEMO))["id"])
    r = svc.client.post(
        "/cycles",
        json={"district": "Gulou", "period": "2026-Q4", "dataset_id": dataset},
        headers=svc.h("planner"),
    )
    cycle = r.json()["id"]
    run = svc.start_run(dataset)
    assert svc.wait(run["id"])["status"] == "succeeded"
    stage(svc, cycle, "public_notice", dataset, run["id"])
    return {"cycle": cycle, "dataset": dataset, "run": run["id"]}


def page(svc: Any, cycle: str, community: str, **params: str) -> Any:
    """The community's page (no key)."""
    return svc.client.get(f"/public/cycles/{cycle}/communities/{community}", params=params)


def test_the_page_in_chinese_and_english_lists_the_communitys_projects(
    svc: Any, notice: dict[str, Any]
) -> None:
    cycle, demands = notice["cycle"], gulou_demands()
    community = "C-GL-07"
    mine = demands[demands["community_id"] == community]
    zh = page(svc, cycle, community)
    assert zh.status_code == 200 and zh.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-CN">' in zh.text
    assert 'name="viewport"' in zh.text
    assert "公示" in zh.text  # the phase, translated
    assert "鼓楼区" in zh.text  # the district
    assert "http://" not in zh.text and "https://" not in zh.text  # nothing loaded
    for demand in mine["demand_id"]:
        assert f">{demand}<" in zh.text
    others = demands[demands["community_id"] != community]["demand_id"]
    assert not any(f">{d}<" in zh.text for d in others)
    en = page(svc, cycle, community, lang="en")
    assert '<html lang="en">' in en.text and "public notice" in en.text
    assert "Gulou" in en.text
    by_header = svc.client.get(
        f"/public/cycles/{cycle}/communities/{community}",
        headers={"Accept-Language": "en-GB,en;q=0.9"},
    )
    assert '<html lang="en">' in by_header.text
    # categories: the code's words in English ("housing repair"), their Chinese names in
    # Chinese
    for code in set(mine["category"]):
        words = code.replace("_", " ")
        assert f">{words}<" in en.text and f">{words}<" not in zh.text, code
    assert "长者助餐" in zh.text  # elderly_meals, one of C-GL-07's demands
    # the JSON says the same
    data = svc.client.get(f"/public/cycles/{cycle}/communities/{community}.json").json()
    assert data["source"] == "draft" and data["phase"] == "public_notice"
    assert sorted(p["demand_id"] for p in data["projects"]) == sorted(mine["demand_id"])
    asked = dict(zip(mine["demand_id"], mine["hours"], strict=True))
    for p in data["projects"]:
        assert p["hours"] == asked[p["demand_id"]]
        assert p["planned_hours"] == sum(u["hours"] for u in p["units"])
        assert all(u["name"] for u in p["units"])  # the units' names from the lists
    # an unknown community or cycle
    assert page(svc, cycle, "C-NOPE").status_code == 404
    assert page(svc, "nope", community).status_code == 404


def test_the_csv_is_the_whole_list(svc: Any, notice: dict[str, Any]) -> None:
    r = svc.client.get(f"/public/cycles/{notice['cycle']}/projects.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    frame = pd.read_csv(io.StringIO(r.content.decode("utf-8-sig")), dtype={"demand_id": str})
    demands = gulou_demands()
    assert sorted(frame["demand_id"]) == sorted(demands["demand_id"])
    assert list(frame.columns) == [
        "demand_id",
        "community_id",
        "district",
        "category",
        "priority",
        "hours",
        "planned_hours",
        "status",
        "lead_unit",
        "units",
    ]


def test_outside_the_notice_the_list_is_not_shown(svc: Any, notice: dict[str, Any]) -> None:
    cycle = notice["cycle"]
    stage(svc, cycle, "district_review", notice["dataset"], notice["run"])
    r = page(svc, cycle, "C-GL-07", lang="en")
    assert r.status_code == 200 and "is not on public notice now" in r.text
    assert "<form" not in r.text and ">D0" not in r.text
    r = svc.client.get(f"/public/cycles/{cycle}/communities/C-GL-07.json")
    assert r.status_code == 404 and r.json()["code"] == "not_on_notice"
    r = svc.client.get(f"/public/cycles/{cycle}/projects.csv")
    assert r.status_code == 404 and r.json()["code"] == "not_on_notice"
    # published: the version's list, without the form
    stage(svc, cycle, "public_notice", notice["dataset"], notice["run"])
    r = svc.client.post(
        f"/cycles/{cycle}/moves/publish", json={"reason": ""}, headers=svc.h("planner")
    )
    assert r.status_code == 200, r.text
    data = svc.client.get(f"/public/cycles/{cycle}/communities/C-GL-07.json").json()
    assert data["source"] == "version" and data["version"] == 1
    mine = gulou_demands().query("community_id == 'C-GL-07'")
    assert sorted(p["demand_id"] for p in data["projects"]) == sorted(mine["demand_id"])
    r = page(svc, cycle, "C-GL-07", lang="en")
    assert "<form" not in r.text and "version frozen" in r.text


def form_token(svc: Any, cycle: str, community: str) -> str:
    """The form token of the community's page (its cookie is kept by the client)."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page(svc, cycle, community).text)
    assert found is not None, "no form token on the page"
    return found.group(1)


def test_the_form_files_an_objection_or_shows_the_error(svc: Any, notice: dict[str, Any]) -> None:
    cycle = notice["cycle"]
    url = f"/public/cycles/{cycle}/objections/form?lang=en"
    form = "application/x-www-form-urlencoded"
    token = f"csrf_token={form_token(svc, cycle, 'C-GL-07')}"
    r = svc.client.post(
        url,
        content=f"{token}&community_id=C-GL-07&demand_id=&body=Too+few+hours&contact={CONTACT}",
        headers={"Content-Type": form},
    )
    assert r.status_code == 200 and "your objection is filed with number 1" in r.text
    assert CONTACT not in r.text
    r = svc.client.post(
        url, content=f"{token}&community_id=C-GL-07&body=&contact=", headers={"Content-Type": form}
    )
    assert r.status_code == 422 and "Your objection was not filed" in r.text
    r = svc.client.post(
        url,
        content=f"{token}&community_id=C-GL-07&demand_id=D9999&body=x",
        headers={"Content-Type": form},
    )
    assert r.status_code == 422 and "D9999" in r.text
    objections = svc.client.get(f"/cycles/{cycle}/objections", headers=svc.h("planner")).json()
    assert [(o["body"], o["contact"]) for o in objections] == [("Too few hours", CONTACT)]


def test_the_form_without_its_token_is_refused(svc: Any, notice: dict[str, Any]) -> None:
    """Another site's form (no token, a forged one, or a token without its cookie) files
    nothing: the page again, 403, the text kept, a fresh token to send it again."""
    cycle = notice["cycle"]
    url = f"/public/cycles/{cycle}/objections/form?lang=en"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    token = form_token(svc, cycle, "C-GL-07")
    fields = "community_id=C-GL-07&demand_id=&body=Kept+%3Cb%3Etext%3C%2Fb%3E&contact=x"
    for content in (fields, f"csrf_token={'0' * 64}&{fields}"):
        r = svc.client.post(url, content=content, headers=form)
        assert r.status_code == 403, r.text
        assert "Your form was not sent" in r.text and "did not come from this page" in r.text
        assert "Kept &lt;b&gt;text&lt;/b&gt;" in r.text and "<b>text" not in r.text
        assert 'name="csrf_token" value="' in r.text
    other = svc.client.__class__(svc.client.app)  # another browser: no cookie
    r = other.post(url, content=f"csrf_token={token}&{fields}", headers=form)
    assert r.status_code == 403
    listed = svc.client.get(f"/cycles/{cycle}/objections", headers=svc.h("planner")).json()
    assert listed == []
    # the JSON route needs no token (no cookie is involved)
    r = other.post(
        f"/public/cycles/{cycle}/objections", json={"community_id": "C-GL-07", "body": "json"}
    )
    assert r.status_code == 201
    # the page's own token works
    r = svc.client.post(url, content=f"csrf_token={token}&{fields}", headers=form)
    assert r.status_code == 200 and "filed with number" in r.text


def test_the_page_has_a_qr_code_of_its_address(svc: Any, notice: dict[str, Any]) -> None:
    cycle = notice["cycle"]
    html = page(svc, cycle, "C-GL-07", lang="en").text
    assert '<svg viewBox="' in html and 'class="qr"' in html
    assert f'href="/public/cycles/{cycle}/communities/C-GL-07"' in html
    assert f"testserver/public/cycles/{cycle}/communities/C-GL-07" in html
    assert "<script" not in html and "src=" not in html


def test_an_answer_is_escaped(svc: Any, notice: dict[str, Any]) -> None:
    cycle = notice["cycle"]
    r = svc.client.post(
        f"/public/cycles/{cycle}/objections",
        json={"community_id": "C-GL-07", "body": "<b>bold</b>"},
    )
    oid = r.json()["id"]
    evil = '<script>alert("x")</script>'
    r = svc.client.post(
        f"/cycles/{cycle}/objections/{oid}/answer",
        json={"answer": evil, "upheld": True},
        headers=svc.h("planner"),
    )
    assert r.status_code == 200
    html = page(svc, cycle, "C-GL-07", lang="en").text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "<script" not in html and "upheld" in html


def coordinates() -> set[str]:
    """Every coordinate of the demo's communities, units and cadres, as written."""
    out: set[str] = set()
    for name in ("communities", "units", "cadres"):
        frame = pd.read_csv(DEMO / f"{name}.csv", dtype=str)
        for column in ("lat", "lon"):
            out |= {v for v in frame[column].dropna() if v.strip()}
            out |= {repr(float(v)) for v in frame[column].dropna() if v.strip()}
    return out


def test_nothing_private_is_served(svc: Any, notice: dict[str, Any]) -> None:
    cycle = notice["cycle"]
    demands = gulou_demands()
    communities = sorted(set(demands["community_id"]))
    for community in communities[:3]:
        svc.client.post(
            f"/public/cycles/{cycle}/objections",
            json={"community_id": community, "body": "objection", "contact": CONTACT},
        )
    for oid in (1, 2):
        svc.client.post(
            f"/cycles/{cycle}/objections/{oid}/answer",
            json={"answer": "answered", "upheld": False},
            headers=svc.h("planner"),
        )
    served = [svc.client.get(f"/public/cycles/{cycle}/projects.csv").text]
    for community in communities:
        served.append(page(svc, cycle, community).text)
        served.append(page(svc, cycle, community, lang="en").text)
        served.append(svc.client.get(f"/public/cycles/{cycle}/communities/{community}.json").text)
    # and once published
    svc.client.post(
        f"/cycles/{cycle}/objections/3/answer",
        json={"answer": "answered", "upheld": False},
        headers=svc.h("planner"),
    )
    r = svc.client.post(f"/cycles/{cycle}/moves/publish", json={}, headers=svc.h("planner"))
    assert r.status_code == 200, r.text
    served.append(svc.client.get(f"/public/cycles/{cycle}/projects.csv").text)
    for community in communities[:3]:
        served.append(page(svc, cycle, community).text)
        served.append(svc.client.get(f"/public/cycles/{cycle}/communities/{community}.json").text)
    everything = "\n".join(served)
    assert "D0" in everything  # there is something to look at
    # every word and every decimal number served (a time's seconds are not a number:
    # "16:20:26.0869" is not read as 26.0869)
    words = set(re.findall(r"[\w-]+", everything))
    numbers = set(re.findall(r"(?<![\d:.])-?\d+\.\d+(?![\d.])", everything))
    cadres = set(pd.read_csv(DEMO / "cadres.csv", dtype=str)["cadre_id"])
    assert cadres and not cadres & words, sorted(cadres & words)[:5]
    places = coordinates()
    assert places and not places & numbers, sorted(places & numbers)[:5]
    assert CONTACT not in everything
    for word in ("home_community", "cadre", "supplier", '"lat"', '"lon"', '"contact":'):
        assert word not in everything, word


def test_the_service_limits_the_publics_objections(sqlite_url: str, service_factory: Any) -> None:
    with service_factory(sqlite_url, rate_limits=True, rate_limit_objections="3/minute") as svc:
        body = {"community_id": "C-GL-07", "body": "x"}
        codes = [
            svc.client.post("/public/cycles/none/objections", json=body).status_code
            for _ in range(4)
        ]
        assert codes == [404] * 3 + [429]
        r = svc.client.post("/public/cycles/none/objections", json=body)
        assert r.json()["code"] == "rate_limited" and int(r.headers["Retry-After"]) >= 1
        # reading is not a write
        assert svc.client.get("/public/cycles/none/projects.csv").status_code == 404
