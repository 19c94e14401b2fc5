"""``/runs/{id}/bottlenecks``, ``/runs/{id}/demands/{demand_id}/explanation`` and
``/runs/{id}/summaries``: explanations of a stored run, and who may read them."""

from __future__ import annotations

import pandas as pd
import pytest

import matcher
from matcher.inputs.io import write_tables

EXAMPLE = "tests/data/example/dataset"


@pytest.fixture(scope="module")
def split_zip(tmp_path_factory: pytest.TempPathFactory, kit) -> bytes:
    """The example with Jichunyuan Group in Taijiang: suppliers in both districts."""
    tables = matcher.load_dataset(EXAMPLE).tables()
    units = tables["units"]
    units.loc[units["unit_id"] == "U-JCY", "district"] = "Taijiang"
    folder = tmp_path_factory.mktemp("split")
    write_tables(tables, folder)
    return bytes(kit.zip_folder(folder))


def _with_extra_hour(tables: dict[str, pd.DataFrame], cadre: str, skill: str) -> float:
    """The planner's objective with one more hour of ``skill`` at ``cadre``."""
    cadres = tables["cadres"]
    row = cadres[cadres["cadre_id"] == cadre].copy()
    row["cadre_id"], row["skills"], row["hours"] = "K-EXTRA", skill, 1
    more = {**tables, "cadres": pd.concat([cadres, row], ignore_index=True)}
    return matcher.plan(matcher.dataset_from_frames(more)).objective


def test_explanations_of_a_run(svc, example_zip: bytes) -> None:
    ds = svc.upload(example_zip)
    run = svc.wait(svc.start_run(ds["id"])["id"])
    assert run["status"] == "succeeded"
    url = f"/runs/{run['id']}"

    r = svc.client.get(f"{url}/bottlenecks", headers=svc.h("viewer"))
    assert r.status_code == 200, r.text
    page = r.json()
    items = page["items"]
    assert page["total"] == len(items) > 0
    assert [i["rank"] for i in items] == list(range(1, len(items) + 1))
    values = [i["marginal_value"] for i in items]
    assert values == sorted(values, reverse=True)
    tables = matcher.load_dataset(EXAMPLE).tables()
    base = matcher.plan(EXAMPLE).objective
    for item in items:
        if item["supplier_id"] is None:
            assert item["marginal_value"] == 0 and item["moves"] is None
            continue
        gain = _with_extra_hour(tables, item["supplier_id"], item["skill"]) - base
        assert item["marginal_value"] == pytest.approx(gain, abs=1e-6)
    top = items[0]
    assert (top["skill"], top["district"], top["gaining_demand_id"]) == ("parking", "Gulou", "D3")
    r = svc.client.get(f"{url}/bottlenecks", params={"limit": 1, "offset": 1}, headers=svc.h())
    assert r.json()["items"] == items[1:2] and r.json()["total"] == len(items)

    r = svc.client.get(f"{url}/demands/D3/explanation", headers=svc.h("viewer"))
    assert r.status_code == 200, r.text
    ex = r.json()
    status = svc.client.get(
        f"{url}/demand_status", params={"status": "partial"}, headers=svc.h("viewer")
    ).json()["items"]
    d3 = next(s for s in status if s["demand_id"] == "D3")
    assert {k: ex["demand"][k] for k in d3} == d3
    assert ex["demand"]["community_name"] == "Cangxia New Town (苍霞新城)"
    assert ex["demand"]["reason"] == "supply_short" and "fell short" in ex["reason_text"]
    assignments = svc.client.get(
        f"{url}/assignments", params={"community_id": "C-CANGXIA"}, headers=svc.h("viewer")
    ).json()["items"]
    served = [a for a in assignments if a["demand_id"] == "D3"]
    assert [(a["supplier_id"], a["hours"]) for a in ex["assignments"]] == [
        (a["supplier_id"], a["hours"]) for a in served
    ]
    for a in ex["assignments"]:
        assert a["value"] == pytest.approx(a["hours"] * (4 - 0.05 * a["km"]), abs=1e-3)
    assert [n["supplier_id"] for n in ex["nearest"]] == ["K2"]
    assert ex["nearest"][0]["eligible"] and ex["nearest"][0]["hours_left"] == 0

    r = svc.client.get(f"{url}/summaries", params={"lang": "zh"}, headers=svc.h("viewer"))
    assert r.status_code == 200
    texts = {(s["scope"], s["id"]): s["text"] for s in r.json()}
    assert set(texts) == {
        ("district", "Gulou"),
        ("district", "Taijiang"),
        ("community", "C-JUNMEN"),
        ("community", "C-CANGXIA"),
        ("community", "C-TANGBIAN"),
    }
    assert texts["district", "Taijiang"].startswith("台江区：需求 16 小时，已覆盖 12 小时")
    assert texts["community", "C-CANGXIA"].startswith("苍霞新城：")
    r = svc.client.get(
        f"{url}/summaries", params={"scope": "district"}, headers=svc.h("viewer")
    ).json()
    assert [s["id"] for s in r] == ["Gulou", "Taijiang"] and r[0]["lang"] == "en"

    r = svc.client.get(f"{url}/demands/NOPE/explanation", headers=svc.h("viewer"))
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = svc.client.get("/runs/nope/bottlenecks", headers=svc.h("viewer"))
    assert r.status_code == 404
    r = svc.client.get(f"{url}/summaries", params={"lang": "fr"}, headers=svc.h("viewer"))
    assert r.status_code == 422


def test_district_scoped_keys(svc, split_zip: bytes) -> None:
    ds = svc.upload(split_zip)
    run = svc.wait(svc.start_run(ds["id"])["id"])
    url = f"/runs/{run['id']}"
    every = svc.client.get(f"{url}/bottlenecks", headers=svc.h("viewer")).json()["items"]
    assert {i["district"] for i in every} == {"Gulou", "Taijiang"}
    own = svc.client.get(f"{url}/bottlenecks", headers=svc.h("gulou")).json()["items"]
    # Gulou's suppliers' rows, without the demands outside Gulou they name (D3 is in
    # Taijiang): those fields are null, and so are moves naming one.
    tables = matcher.load_dataset(EXAMPLE).tables()
    cf = tables["communities"]
    comm = dict(zip(cf["community_id"], cf["district"], strict=True))
    dem = {
        d: comm[c]
        for d, c in zip(
            tables["demands"]["demand_id"], tables["demands"]["community_id"], strict=True
        )
    }
    expected = []
    for item in (dict(i) for i in every if i["district"] == "Gulou"):
        for d, c in (("demand_id", "community_id"), ("gaining_demand_id", "gaining_community_id")):
            if item[d] is not None and dem[item[d]] != "Gulou":
                item[d] = item[c] = None
        named = [m.split("->")[1] for m in (item["moves"] or "").split("; ") if m]
        if any(dem[d] != "Gulou" for d in named):
            item["moves"] = None
        expected.append(item)
    assert own == expected
    assert any(i["demand_id"] == "D3" for i in every if i["district"] == "Gulou")
    assert all("D3" not in str(i) for i in own)
    r = svc.client.get(
        f"{url}/bottlenecks", params={"district": "Taijiang"}, headers=svc.h("gulou")
    )
    assert r.status_code == 403 and r.json()["code"] == "forbidden_district"

    r = svc.client.get(f"{url}/demands/D2/explanation", headers=svc.h("gulou"))
    assert r.status_code == 403 and r.json()["code"] == "forbidden_district"
    r = svc.client.get(
        f"{url}/demands/D2/explanation", headers={**svc.h("gulou"), "Accept-Language": "zh"}
    )
    assert r.status_code == 403
    assert r.json()["detail"] == "需求 D2 位于 Taijiang；此密钥只能读取以下区：Gulou"
    # D4's nearest suppliers also serve D1 (Gulou) and D2 (Taijiang): only D1 is shown.
    full = svc.client.get(f"{url}/demands/D4/explanation", headers=svc.h("viewer")).json()
    mine = svc.client.get(f"{url}/demands/D4/explanation", headers=svc.h("gulou")).json()
    assert {e["district"] for e in full["elsewhere"]} == {"Gulou", "Taijiang"}
    assert {e["district"] for e in mine["elsewhere"]} == {"Gulou"}
    assert all("D2" not in n["serves_instead"] for n in mine["nearest"])
    assert any("D2" in n["serves_instead"] for n in full["nearest"])
    assert [n["hours_elsewhere"] for n in mine["nearest"]] == [
        n["hours_elsewhere"] for n in full["nearest"]
    ]
    summaries = svc.client.get(f"{url}/summaries", headers=svc.h("gulou")).json()
    assert {s["id"] for s in summaries} == {"Gulou", "C-JUNMEN", "C-TANGBIAN"}


def test_explanations_in_the_readers_language(svc, example_zip: bytes) -> None:
    ds = svc.upload(example_zip)
    run = svc.wait(svc.start_run(ds["id"])["id"])
    url = f"/runs/{run['id']}"
    zh = {**svc.h("viewer"), "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}

    r = svc.client.get(f"{url}/demands/D3/explanation", headers=zh)
    assert r.status_code == 200, r.text
    assert r.json()["reason_text"] == "有联系的供给方时长已全部投入本需求，仍然不足"
    assert r.json()["demand"]["reason"] == "supply_short"  # codes stay codes
    d4 = svc.client.get(
        f"{url}/demands/D4/explanation", params={"lang": "zh"}, headers=svc.h("viewer")
    ).json()
    en = svc.client.get(f"{url}/demands/D4/explanation", headers=svc.h("viewer")).json()
    instead = {n["supplier_id"]: n["serves_instead"] for n in d4["nearest"]}
    assert instead["R1"] == "D1（养老照护，优先级 5）12 小时，每小时得分 4.9837"
    instead = {n["supplier_id"]: n["serves_instead"] for n in en["nearest"]}
    assert instead["R1"] == "D1 (elderly_care, priority 5) 12 h at 4.9837/h"
    assert d4["elsewhere"] == en["elsewhere"] and d4["assignments"] == en["assignments"]

    # Summaries: ?lang=, else the request's language.
    r = svc.client.get(f"{url}/summaries", params={"scope": "district"}, headers=zh).json()
    assert [s["lang"] for s in r] == ["zh", "zh"]
    assert r[1]["text"].startswith("台江区：需求 16 小时，已覆盖 12 小时（75.0%）")
    r = svc.client.get(f"{url}/summaries", params={"lang": "en"}, headers=zh).json()
    assert r[0]["lang"] == "en" and r[0]["text"].startswith("Gulou: 28 of 28")

    # Errors in the request's language.
    r = svc.client.get(f"{url}/demands/NOPE/explanation", headers=zh)
    assert r.status_code == 404
    assert r.json()["detail"] == f"运行 {run['id']} 中没有 id 为 'NOPE' 的需求"
    r = svc.client.get(f"{url}/demands/NOPE/explanation", headers=svc.h("viewer"))
    assert r.json()["detail"] == f"no demand with id 'NOPE' in run {run['id']}"
    r = svc.client.get(f"{url}/summaries", params={"lang": "fr"}, headers=svc.h("viewer"))
    assert r.status_code == 422 and r.json()["code"] == "invalid_request"
    assert r.json()["detail"] == (
        "invalid request (lang): 'fr' is not a language of the planner (en, zh)"
    )
    r = svc.client.get(f"{url}/summaries", params={"lang": "fr"}, headers=zh)
    assert r.json()["detail"] == "请求有误（lang）：'fr' 不是规划系统支持的语言（en, zh）"


def test_refusals_by_run_state_and_rules(svc, example_zip: bytes, kit) -> None:
    ds = svc.upload(example_zip)
    run = svc.wait(svc.start_run(ds["id"], integer_rules={"max_communities_per_cadre": 1})["id"])
    assert run["status"] == "succeeded"
    r = svc.client.get(f"/runs/{run['id']}/bottlenecks", headers=svc.h("viewer"))
    assert r.status_code == 409 and r.json()["code"] == "no_marginal_values"
    assert "max_communities_per_cadre" in r.json()["detail"]
    r = svc.client.get(f"/runs/{run['id']}/summaries", headers=svc.h("viewer"))
    assert r.status_code == 200 and "Bottleneck" not in str(r.json())
    r = svc.client.get(f"/runs/{run['id']}/demands/D3/explanation", headers=svc.h("viewer"))
    assert r.status_code == 200

    # A run not finished has nothing to explain.
    app = kit.create_app(kit.Settings(database_url=svc.url), start_dispatcher=False)
    with kit.TestClient(app) as client:
        idle = kit.Service(client, svc.url, svc.keys)
        queued = idle.start_run(ds["id"])
        for path in ("bottlenecks", "demands/D3/explanation", "summaries"):
            r = client.get(f"/runs/{queued['id']}/{path}", headers=idle.h("viewer"))
            assert r.status_code == 409 and r.json()["code"] == "no_results", path
