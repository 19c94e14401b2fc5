"""The console's lists pages: a cycle's demand list, resource list and cadres read in the
person's scope, rows added by a form or uploaded (CSV, zip of CSV files, workbook: all or
none, every problem in a table), rows edited, read-only outside collecting, the template."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

import pandas as pd
import pytest
from conftest import ROOT, zip_folder

from matcher.i18n import translator

DEMO = ROOT / "datasets" / "fuzhou-demo"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def cycle(console: Any) -> str:
    """A Gulou cycle collecting its lists, from the demo dataset."""
    svc = console.svc
    ds = svc.upload(zip_folder(DEMO))
    r = svc.client.post(
        "/cycles",
        json={"district": "Gulou", "period": "2026-Q4", "dataset_id": ds["id"]},
        headers=svc.h("planner"),
    )
    assert r.status_code == 201, r.text
    assert r.json()["phase"] == "collecting"
    cycle_id: str = r.json()["id"]
    return cycle_id


def _url(cycle_id: str, rest: str = "") -> str:
    return f"/console/cycles/{cycle_id}/lists{rest}"


def _demand(demand_id: str, community: str = "C-JUNMEN", **cells: Any) -> dict[str, Any]:
    return {
        "demand_id": demand_id,
        "community_id": community,
        "category": "elderly_care",
        "hours": "10",
        "priority": "3",
        **cells,
    }


def _csv(rows: list[dict[str, Any]]) -> bytes:
    return pd.DataFrame(rows).to_csv(index=False).encode()


def _upload(
    browser: Any, cycle_id: str, name: str, body: bytes, table: str, origin: str = "hotline"
) -> Any:
    return browser.post(
        _url(cycle_id, "/upload"),
        {"upload_table": table, "upload_origin": origin},
        files={"file": (name, body, "application/octet-stream")},
    )


def _problem_rows(html: str) -> list[list[str]]:
    """The rows of the page's problems table (cells as text)."""
    part = html.split('id="upload-problems"', 1)[1].split("</table>", 1)[0]
    body = part.split("<tbody>", 1)[1]
    return [
        [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_each_list_renders_for_every_role_in_scope(console: Any, cycle: str) -> None:
    for who in ("admin", "planner", "community", "unit", "street_reviewer", "district_reviewer"):
        browser = console.as_(who)
        for table in ("demands", "resources", "cadres"):
            r = browser.get(_url(cycle, f"?table={table}"))
            assert r.status_code == 200, (who, table, r.text[-2000:])
            assert 'aria-current="page"' in r.text
            assert '<th scope="col"' in r.text
    for table in ("demands", "resources", "cadres"):
        assert console.as_("cangshan").get(_url(cycle, f"?table={table}")).status_code == 403
    assert console.as_("cangshan").get(_url(cycle, "/demands/new")).status_code == 403
    anonymous = console.browser()
    r = anonymous.get(_url(cycle), follow_redirects=False)
    assert r.status_code == 303 and "/console/sign-in" in r.headers["location"]


def test_scope_filters_and_pages(console: Any, cycle: str) -> None:
    planner = console.as_("planner").get(_url(cycle, "?table=demands&limit=500")).text
    assert ">D0001<" in planner and ">C-GL-01<" in planner
    # a community sees its own demands only
    community = console.as_("community").get(_url(cycle, "?table=demands&limit=500")).text
    assert ">D0001<" in community and ">C-GL-01<" not in community
    # a unit its own resources
    unit = console.as_("unit").get(_url(cycle, "?table=resources")).text
    assert ">R-JCY-CANTEEN<" not in unit
    # filters
    r = console.as_("planner").get(_url(cycle, "?table=demands&community_id=C-JUNMEN&limit=500"))
    assert r.status_code == 200 and ">C-GL-01<" not in r.text and ">D0001<" in r.text
    r = console.as_("planner").get(_url(cycle, "?table=demands&category=nothing-like-it"))
    assert translator("zh")("Nothing here yet.") in r.text
    # pages of 50 with a pager keeping the filters
    r = console.as_("planner").get(_url(cycle, "?table=cadres&unit_id=U-MORG&limit=5"))
    assert 'rel="next"' in r.text and "unit_id=U-MORG&amp;limit=5&amp;offset=5" in r.text
    r = console.as_("planner").get(_url(cycle, "?table=cadres&offset=50&limit=50"))
    assert r.status_code == 200 and 'rel="prev"' in r.text


def test_community_adds_a_demand_by_the_form(console: Any, cycle: str) -> None:
    browser = console.as_("community")
    page = browser.get(_url(cycle, "?table=demands")).text
    assert "/lists/demands/new" in page  # the button
    r = browser.get(_url(cycle, "/demands/new"))
    assert r.status_code == 200
    # only the user's communities are offered
    assert 'value="C-JUNMEN"' in r.text and 'value="C-GL-01"' not in r.text
    r = browser.post(_url(cycle, "/demands/new"), {**_demand("N1"), "origin": "hotline"})
    assert r.status_code == 303, r.text
    assert r.headers["location"].endswith("table=demands&added=1")
    listed = browser.get(r.headers["location"]).text
    assert ">N1<" in listed and 'role="status"' in listed
    # in the JSON API too, with its origin
    svc = console.svc
    items = svc.client.get(
        f"/cycles/{cycle}/lists/demands?limit=10000", headers=svc.h("planner")
    ).json()["items"]
    new = [i for i in items if i["row"]["demand_id"] == "N1"]
    assert new and new[0]["origin"] == "hotline"


def test_a_refused_row_keeps_what_was_typed_escaped(console: Any, cycle: str) -> None:
    browser = console.as_("community")
    typed = {**_demand("N2", priority="9", description=SCRIPT), "origin": "home_visit"}
    r = browser.post(_url(cycle, "/demands/new"), typed)
    assert r.status_code == 422, r.text
    assert 'id="priority-error"' in r.text and 'aria-invalid="true"' in r.text
    assert 'value="N2"' in r.text and 'value="9"' in r.text
    assert '<option value="home_visit" selected>' in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text and SCRIPT not in r.text
    # a demand id the lists hold already
    r = browser.post(_url(cycle, "/demands/new"), {**_demand("D0001"), "origin": "online"})
    assert r.status_code == 422 and 'id="demand_id-error"' in r.text
    # nothing stored
    listed = console.as_("planner").get(_url(cycle, "?table=demands&origin=home_visit")).text
    assert ">N2<" not in listed


def test_forms_need_the_token(console: Any, cycle: str) -> None:
    browser = console.as_("planner")
    browser.get(_url(cycle))
    r = browser.post(
        _url(cycle, "/demands/new"), {**_demand("T1"), "origin": "online"}, token=False
    )
    assert r.status_code == 403
    r = browser.post(
        _url(cycle, "/upload"),
        {"upload_table": "demands", "upload_origin": "online"},
        files={"file": ("demands.csv", _csv([_demand("T2")]), "text/csv")},
        token=False,
    )
    assert r.status_code == 403
    r = browser.post(_url(cycle, "/demands/D0001/edit"), {"hours": "3"}, token=False)
    assert r.status_code == 403


def test_edit_a_demand(console: Any, cycle: str) -> None:
    browser = console.as_("community")
    r = browser.get(_url(cycle, "/demands/D0001/edit"))
    assert r.status_code == 200
    assert 'value="36"' in r.text  # the row's hours
    assert 'name="demand_id"' not in r.text  # the id stays
    form = {
        "community_id": "C-JUNMEN",
        "category": "elderly_care",
        "hours": "40",
        "priority": "5",
        "description": SCRIPT,
    }
    r = browser.post(_url(cycle, "/demands/D0001/edit"), form)
    assert r.status_code == 303, r.text
    listed = browser.get(r.headers["location"]).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in listed and SCRIPT not in listed
    assert 'role="status"' in listed
    # refused: hours below 0, what was typed kept
    r = browser.post(_url(cycle, "/demands/D0001/edit"), {**form, "hours": "-4"})
    assert r.status_code == 422 and 'id="hours-error"' in r.text and 'value="-4"' in r.text
    # another community's demand is not the user's to edit
    planner_rows = console.as_("planner").get(_url(cycle, "?table=demands&limit=500")).text
    other = re.search(r"<td>(D\d+)</td><td>C-GL-01</td>", planner_rows)
    assert other is not None
    assert browser.get(_url(cycle, f"/demands/{other.group(1)}/edit")).status_code == 404
    # a unit may not edit demands at all
    assert console.as_("unit").get(_url(cycle, "/demands/D0001/edit")).status_code == 403


def test_upload_a_csv_all_or_none_with_every_problem(console: Any, cycle: str) -> None:
    browser = console.as_("planner")
    bad = [
        _demand("B1", "C-GL-01"),
        _demand("B2", "C-GL-01", priority="7"),
        _demand("B3", "C-GL-01", hours="-1", description=SCRIPT),
    ]
    r = _upload(browser, cycle, "demands.csv", _csv(bad), "demands")
    assert r.status_code == 422, r.text
    rows = _problem_rows(r.text)
    assert any(row[1] == "3" and "priority" in row[2] and row[3] == "7" for row in rows), rows
    assert any(row[1] == "4" and "hours" in row[2] and row[3] == "-1" for row in rows), rows
    assert len(rows) == 2
    assert 'role="alert"' in r.text
    listed = browser.get(_url(cycle, "?table=demands&limit=500")).text
    assert ">B1<" not in listed  # nothing stored
    # fixed and uploaded again
    good = [_demand("B1", "C-GL-01"), _demand("B2", "C-GL-01", description=SCRIPT)]
    r = _upload(browser, cycle, "demands.csv", _csv(good), "demands", "joint_meeting")
    assert r.status_code == 303, r.text
    assert r.headers["location"].endswith("table=demands&added=2")
    assert 'role="status"' in browser.get(r.headers["location"]).text
    listed = browser.get(_url(cycle, "?table=demands&origin=joint_meeting")).text
    assert ">B1<" in listed and "&lt;script&gt;" in listed and SCRIPT not in listed


def test_upload_a_zip_and_a_workbook(console: Any, cycle: str) -> None:
    browser = console.as_("planner")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("lists/demands.csv", _csv([_demand("Z1", "C-GL-01")]))
        archive.writestr(
            "lists/resources.csv",
            _csv(
                [
                    {
                        "resource_id": "R-Z1",
                        "unit_id": "U-MCA",
                        "kind": "service",
                        "amount": "20",
                    }
                ]
            ),
        )
    r = _upload(browser, cycle, "lists.zip", buffer.getvalue(), "all")
    assert r.status_code == 303, r.text
    assert "added=2" in r.headers["location"]
    assert ">R-Z1<" in browser.get(_url(cycle, "?table=resources")).text
    # a workbook's demands sheet, one bad row: every problem names the sheet
    book = io.BytesIO()
    with pd.ExcelWriter(book, engine="openpyxl") as writer:
        pd.DataFrame([_demand("W1", "C-GL-02"), _demand("W2", "C-GL-02", hours="-1")]).to_excel(
            writer, sheet_name="需求", index=False
        )
    r = _upload(browser, cycle, "lists.xlsx", book.getvalue(), "all")
    assert r.status_code == 422, r.text
    rows = _problem_rows(r.text)
    assert [row[1] for row in rows] == ["3"] and "需求" in rows[0][0] and rows[0][3] == "-1"
    book = io.BytesIO()
    with pd.ExcelWriter(book, engine="openpyxl") as writer:
        pd.DataFrame([_demand("W1", "C-GL-02")]).to_excel(writer, sheet_name="需求", index=False)
    r = _upload(browser, cycle, "lists.xlsx", book.getvalue(), "demands")
    assert r.status_code == 303, r.text
    # a file that is none of these
    r = _upload(browser, cycle, "notes.zip", b"PK\x03\x04 not a zip", "demands")
    assert r.status_code in (413, 422) and 'id="upload-problems"' in r.text
    # no file chosen
    r = browser.post(_url(cycle, "/upload"), {"upload_table": "demands", "upload_origin": "online"})
    assert r.status_code == 422 and 'id="file-error"' in r.text


def test_a_community_uploads_only_its_own_demands(console: Any, cycle: str) -> None:
    browser = console.as_("community")
    page = browser.get(_url(cycle, "?table=demands")).text
    assert 'name="upload_table"' in page
    r = _upload(browser, cycle, "demands.csv", _csv([_demand("C1", "C-GL-01")]), "demands")
    assert r.status_code == 403 and 'id="upload-problems"' in r.text
    rows = _problem_rows(r.text)
    assert rows[0][1] == "2" and "community_id" in rows[0][2]
    r = _upload(browser, cycle, "demands.csv", _csv([_demand("C1")]), "demands")
    assert r.status_code == 303, r.text


def test_units_add_resources_not_demands(console: Any, cycle: str) -> None:
    unit = console.as_("unit")
    demands = unit.get(_url(cycle, "?table=demands")).text
    assert "/lists/demands/new" not in demands and "alert note" in demands
    assert unit.get(_url(cycle, "/demands/new")).status_code == 403
    r = unit.get(_url(cycle, "/resources/new"))
    assert r.status_code == 200 and 'value="U-MCA"' in r.text and 'value="U-MORG"' not in r.text
    r = unit.post(
        _url(cycle, "/resources/new"),
        {
            "resource_id": "R-NEW",
            "unit_id": "U-MCA",
            "kind": "service",
            "categories": "elderly_care",
            "amount": "12",
            "origin": "online",
        },
    )
    assert r.status_code == 303, r.text
    assert ">R-NEW<" in unit.get(_url(cycle, "?table=resources")).text
    assert unit.get(_url(cycle, "/resources/R-NEW/edit")).status_code == 200
    r = unit.get(_url(cycle, "/cadres/new"))
    assert r.status_code == 200
    # a community reads resources, but adds none
    community = console.as_("community").get(_url(cycle, "?table=resources")).text
    assert "/lists/resources/new" not in community


def test_read_only_once_planning_opens(console: Any, cycle: str) -> None:
    svc = console.svc
    r = svc.client.post(f"/cycles/{cycle}/moves/open_planning", headers=svc.h("planner"))
    assert r.status_code == 200, r.text
    for who in ("planner", "community"):
        browser = console.as_(who)
        page = browser.get(_url(cycle, "?table=demands")).text
        assert "alert note" in page
        assert "/lists/demands/new" not in page and "/edit" not in page
        assert 'name="upload_table"' not in page
        assert browser.get(_url(cycle, "/demands/new")).status_code == 409
    browser = console.as_("planner")
    r = browser.post(_url(cycle, "/demands/new"), {**_demand("L1"), "origin": "online"})
    assert r.status_code == 409 and 'value="L1"' in r.text


def test_template_download(console: Any, cycle: str) -> None:
    browser = console.as_("community")
    page = browser.get(_url(cycle)).text
    assert "/lists/template.xlsx?lang=zh" in page
    r = browser.get(_url(cycle, "/template.xlsx?lang=zh"))
    assert r.status_code == 200 and r.headers["content-type"].startswith(XLSX)
    assert r.content[:2] == b"PK"
    assert console.as_("cangshan").get(_url(cycle, "/template.xlsx")).status_code == 403
