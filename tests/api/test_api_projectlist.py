"""``GET /runs/{id}/project-list.xlsx``: a stored run's project list as a workbook.

The workbook is read back with openpyxl and compared with what the service's own JSON
routes answer for the same run (``/kpis``, ``/demand_status``, ``/assignments``).
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any
from xml.etree import ElementTree

import openpyxl

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _get(svc: Any, path: str, role: str = "viewer", **kw: Any) -> Any:
    headers = {**svc.h(role), **kw.pop("headers", {})}
    return svc.client.get(path, headers=headers, **kw)


def _cells(content: bytes) -> tuple[openpyxl.Workbook, set[Any]]:
    wb = openpyxl.load_workbook(io.BytesIO(content))
    cells = {v for ws in wb for r in ws.iter_rows(values_only=True) for v in r if v is not None}
    return wb, cells


def _summary(wb: openpyxl.Workbook) -> dict[str, Any]:
    return {r[0]: r[1] for r in wb.worksheets[0].iter_rows(values_only=True) if r[0]}


def test_project_list_of_a_run(svc, example_zip: bytes) -> None:
    ds = svc.upload(example_zip)
    run = svc.wait(svc.start_run(ds["id"])["id"])
    url = f"/runs/{run['id']}/project-list.xlsx"

    r = _get(svc, url, params={"lang": "en"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == XLSX
    assert r.headers["content-disposition"] == (
        f'attachment; filename="project-list-{run["id"]}-en.xlsx"'
    )
    wb, cells = _cells(r.content)
    assert wb.sheetnames == ["Summary", "Gulou", "Taijiang", "Unmet demands"]
    kpis = _get(svc, f"/runs/{run['id']}/kpis").json()
    shown = _summary(wb)
    assert shown["Hours asked"] == kpis["hours_demanded"] == 44
    assert shown["Hours covered"] == kpis["hours_covered"]
    assert shown["Coverage"] == kpis["coverage"]
    assert shown["Demands partly met"] == kpis["demands_partial"] == 1
    # every demand with its hours, and the cadres who give them (not the public list)
    status = _get(svc, f"/runs/{run['id']}/demand_status").json()["items"]
    ws = wb["Taijiang"]
    rows = {r[1]: r for r in ws.iter_rows(min_row=4, values_only=True) if r[1]}
    for s in status:
        if s["district"] == "Taijiang":
            assert rows[s["demand_id"]][5:7] == (s["hours"], s["covered_hours"])
    assignments = _get(svc, f"/runs/{run['id']}/assignments").json()["items"]
    cadres = {a["supplier_id"] for a in assignments if a["supplier_kind"] == "cadre"}
    listed = {m for v in cells if isinstance(v, str) for m in re.findall(r"\bK\d+\b", v)}
    assert listed == cadres

    # Chinese from Accept-Language; ?lang= wins over it
    r = _get(svc, url, headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert r.status_code == 200
    assert r.headers["content-disposition"].endswith(f'project-list-{run["id"]}-zh.xlsx"')
    wb, cells = _cells(r.content)
    assert wb.sheetnames == ["汇总", "鼓楼区", "台江区", "未满足需求清单"]
    assert {"社区", "需求编号", "共建单位", "单位时长", "养老照护", "军门社区"} <= cells
    assert _summary(wb)["需求时长"] == 44
    r = _get(svc, url, params={"lang": "en"}, headers={"Accept-Language": "zh"})
    assert _cells(r.content)[0].sheetnames[0] == "Summary"


def test_public_variant_and_district_scope(svc, example_zip: bytes) -> None:
    ds = svc.upload(example_zip)
    run = svc.wait(svc.start_run(ds["id"])["id"])
    url = f"/runs/{run['id']}/project-list.xlsx"
    cadre_ids = {"K1", "K2", "K3", "K4", "K5"}

    r = _get(svc, url, params={"public": "true", "lang": "zh"})
    assert r.status_code == 200
    assert r.headers["content-disposition"].endswith(f'-{run["id"]}-zh-public.xlsx"')
    _, cells = _cells(r.content)
    words = {w for v in cells if isinstance(v, str) for w in re.split(r"[\s,、()]+", v)}
    assert not words & cadre_ids
    # nor anywhere in the file's parts (docProps included), cell references aside
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        for part in z.namelist():
            if part.endswith((".xml", ".rels")):
                for el in ElementTree.fromstring(z.read(part)).iter():
                    texts = [el.text or ""]
                    texts += [v for k, v in el.attrib.items() if k not in ("r", "ref", "sqref")]
                    for t in texts:
                        assert not set(re.split(r"[\s,、()]+", t)) & cadre_ids, (part, t)

    # a key scoped to Gulou gets Gulou's sheet and rows, and Gulou's figures only
    r = _get(svc, url, role="gulou", headers={"Accept-Language": "en"})
    assert r.status_code == 200, r.text
    wb, cells = _cells(r.content)
    assert wb.sheetnames == ["Summary", "Gulou", "Unmet demands"]
    assert not cells & {"Taijiang", "D2", "D3", "Cangxia New Town"}
    gulou = _get(svc, f"/runs/{run['id']}/demand_status", role="gulou").json()["items"]
    shown = _summary(wb)
    assert shown["Hours asked"] == sum(s["hours"] for s in gulou) == 28
    assert shown["Hours covered"] == sum(s["covered_hours"] for s in gulou)
    assert shown["Demands"] == len(gulou) == 3
    assert "Hours offered" not in shown  # a city-wide figure

    # ?district= narrows a list to one district, within the key's scope
    r = _get(svc, url, role="gulou", params={"district": "Taijiang"})
    assert r.status_code == 403 and r.json()["code"] == "forbidden_district"
    r = _get(
        svc, url, role="gulou", params={"district": "Taijiang"}, headers={"Accept-Language": "zh"}
    )
    assert r.json()["detail"] == "此密钥只能读取以下区：Gulou"
    r = _get(svc, url, params={"district": "Taijiang", "lang": "en"})
    wb, cells = _cells(r.content)
    assert wb.sheetnames == ["Summary", "Taijiang", "Unmet demands"]
    assert {"D2", "D3"} <= cells and not cells & {"D1", "D4", "D5", "Gulou"}
    assert _summary(wb)["Hours asked"] == 16


def test_lead_units_are_listed(svc, rules_zip: bytes) -> None:
    ds = svc.upload(rules_zip)
    run = svc.wait(svc.start_run(ds["id"])["id"])
    assert run["status"] == "succeeded", run
    leads = _get(svc, f"/runs/{run['id']}/leads").json()["items"]
    assert leads
    r = _get(svc, f"/runs/{run['id']}/project-list.xlsx", params={"lang": "en"})
    wb, _ = _cells(r.content)
    names = {"U-MUNI": "Municipal bureau A", "U-JCY": "Jichunyuan Group"}
    for lead in leads:
        ws = wb[lead["district"]]
        header = [c.value for c in ws[3]]
        rows = {r[1]: r for r in ws.iter_rows(min_row=4, values_only=True) if r[1]}
        assert rows[lead["demand_id"]][header.index("Lead unit")] == names[lead["unit_id"]]


def test_refusals(svc, example_zip: bytes, kit) -> None:
    ds = svc.upload(example_zip)
    r = svc.client.get("/runs/nope/project-list.xlsx", headers=svc.h("viewer"))
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert svc.client.get("/runs/nope/project-list.xlsx").status_code == 401
    run = svc.wait(svc.start_run(ds["id"])["id"])
    url = f"/runs/{run['id']}/project-list.xlsx"
    r = _get(svc, url, params={"lang": "fr"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_request"
    r = _get(svc, url, params={"public": "maybe"})
    assert r.status_code == 422

    # a run without a plan yet
    app = kit.create_app(kit.Settings(database_url=svc.url), start_dispatcher=False)
    with kit.TestClient(app) as client:
        idle = kit.Service(client, svc.url, svc.keys)
        queued = idle.start_run(ds["id"])
        r = client.get(f"/runs/{queued['id']}/project-list.xlsx", headers=idle.h("viewer"))
        assert r.status_code == 409 and r.json()["code"] == "no_results"
