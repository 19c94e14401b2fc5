"""The console's defences: the form token on every form, scopes, escaping."""

from __future__ import annotations

import re

from conftest import ROOT, zip_folder
from console_kit import ConsoleKit

from api.routes.console import page_routers

PAYLOAD = "<script>alert(1)</script>"


def _form_routes() -> list[str]:
    """Every console route that takes a form (every method but GET), its path
    parameters filled in."""
    paths = []
    for router in page_routers():
        for route in router.routes:
            methods = getattr(route, "methods", set()) or set()
            if methods - {"GET", "HEAD"}:
                paths.append(
                    re.sub(
                        r"\{action\}", "submit", re.sub(r"\{(?!action)[^}]+\}", "x1", route.path)
                    )
                )
    return sorted(set(paths))


def test_every_form_needs_its_token(console: ConsoleKit) -> None:
    routes = _form_routes()
    assert "/console/sign-in" in routes and "/console/sign-out" in routes
    admin = console.as_("admin")
    for path in routes:
        for token in ({}, {"csrf_token": "f" * 64}):
            r = admin.post(path, token, token=False)
            assert r.status_code == 403, (path, r.status_code)
            assert "csrf_failed" in r.text, path
        # a multipart form (a file upload) is checked alike
        r = admin.client.post(
            path, files={"file": ("x.csv", b"a,b\n")}, data={}, follow_redirects=False
        )
        assert r.status_code == 403, (path, "multipart")


def test_another_districts_cycle_is_forbidden(console: ConsoleKit) -> None:
    planner = console.as_("planner")
    dataset = console.svc.upload(zip_folder(ROOT / "datasets" / "fuzhou-demo"))
    r = planner.post(
        "/console/cycles",
        {"district": "Gulou", "period": "2026-Q4", "dataset_id": dataset["id"]},
    )
    assert r.status_code == 303, r.text
    cycle_url = r.headers["location"]
    assert planner.get(cycle_url).status_code == 200
    other = console.as_("cangshan")
    r = other.get(cycle_url)
    assert r.status_code == 403 and 'lang="zh-CN"' in r.text
    # and the list of cycles does not show it
    assert cycle_url not in other.get("/console/cycles").text


def test_stored_text_is_shown_as_text(console: ConsoleKit) -> None:
    admin = console.as_("admin")
    dataset = console.svc.upload(zip_folder(ROOT / "datasets" / "fuzhou-demo"))
    r = admin.post(
        "/console/cycles",
        {"district": PAYLOAD, "period": "2026-Q4", "dataset_id": dataset["id"]},
    )
    assert r.status_code == 303, r.text
    for url in (r.headers["location"], "/console/cycles", "/console/"):
        page = admin.get(url).text
        assert PAYLOAD not in page, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, url


def test_refused_form_keeps_what_was_typed(console: ConsoleKit) -> None:
    planner = console.as_("planner")
    r = planner.post(
        "/console/cycles",
        {"district": "Gulou", "period": "2026-Q9", "dataset_id": "nope", "streets": "东街"},
    )
    assert r.status_code in (404, 422)
    assert 'value="2026-Q9"' in r.text and 'value="东街"' in r.text
