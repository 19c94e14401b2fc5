"""The console's test kit: a user of each role in a service (tests/api/conftest.py's
``console`` fixture), and browsers-without-a-browser (TestClients with their own
cookies) signed in as them. Import it as ``from console_kit import ...``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.console.accounts import create_user
from api.db.session import session_scope

PASSWORD = "console-test-password"
"""Every test user's password."""

USERS: dict[str, dict[str, Any]] = {
    "admin": {"role": "admin"},
    "planner": {"role": "planner", "districts": ["Gulou"], "display_name": "Gulou planner"},
    "community": {"role": "community", "districts": ["Gulou"], "communities": ["C-JUNMEN"]},
    "unit": {"role": "unit", "districts": ["Gulou"], "units": ["U-MCA"]},
    "street_reviewer": {"role": "street_reviewer", "districts": ["Gulou"]},
    "district_reviewer": {"role": "district_reviewer", "districts": ["Gulou"]},
    "cangshan": {"role": "planner", "districts": ["Cangshan"]},
}
"""The test users by user name: their role and scope (Gulou, but the Cangshan planner)."""

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def form_token(html: str) -> str:
    """The form token on a page (assert there is one)."""
    found = _TOKEN.search(html)
    assert found is not None, "no form token on the page"
    return found.group(1)


@dataclass
class Browser:
    """A client with its own cookies, signed in as ``username`` (or not)."""

    client: TestClient
    username: str | None = None
    token: str = ""
    lang: str = "zh"
    pages: list[str] = field(default_factory=list)

    def get(self, url: str, **kw: Any) -> httpx.Response:
        """GET a page; remembers the form token it carries."""
        r = self.client.get(url, **kw)
        found = _TOKEN.search(r.text)
        if found:
            self.token = found.group(1)
        self.pages.append(url)
        return r

    def post(
        self, url: str, data: dict[str, Any] | None = None, *, token: bool = True, **kw: Any
    ) -> httpx.Response:
        """POST a form with the token (``token=False``: without), not following the
        redirect."""
        if not self.token:
            self.get("/console/sign-in")
        body = dict(data or {})
        if token:
            body.setdefault("csrf_token", self.token)
        kw.setdefault("follow_redirects", False)
        return self.client.post(url, data=body, **kw)


@dataclass
class ConsoleKit:
    """The service, and a signed-in browser per test user."""

    svc: Any
    browsers: dict[str, Browser] = field(default_factory=dict)

    def browser(self, username: str | None = None, lang: str = "zh") -> Browser:
        """A new browser (its own cookies), signed in as ``username`` if given."""
        client = TestClient(
            self.svc.client.app,
            raise_server_exceptions=False,
            headers={"Accept-Language": "zh-CN,zh;q=0.9" if lang == "zh" else "en"},
        )
        b = Browser(client, lang=lang)
        b.get("/console/sign-in")
        if username is not None:
            r = b.post("/console/sign-in", {"username": username, "password": PASSWORD})
            assert r.status_code == 303, r.text
            b.username = username
            b.get("/console/")
        return b

    def as_(self, username: str) -> Browser:
        """The signed-in browser of ``username`` (one per test user, kept)."""
        if username not in self.browsers:
            self.browsers[username] = self.browser(username)
        return self.browsers[username]


def add_users(svc: Any) -> None:
    """Store the test users (:data:`USERS`) in the service's store."""
    app = svc.client.app
    with session_scope(app.state.sessionmaker) as session:
        for name, spec in USERS.items():
            create_user(session, app.state.console.passwords, name, PASSWORD, **spec)


class _Page(HTMLParser):
    """The ids, the labels' targets and the form fields of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.labelled: set[str] = set()
        self.fields: list[str] = []
        self.inline: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(str(a["id"]))
        if tag == "label" and a.get("for"):
            self.labelled.add(str(a["for"]))
        if tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit"):
            self.fields.append(str(a.get("id") or a.get("name")))
        if "style" in a or (tag == "script" and not a.get("src")) or tag == "style":
            self.inline.append(tag)


def assert_clean(html: str) -> None:
    """Unique ids, a label for every field, no inline style or script, one h1."""
    p = _Page()
    p.feed(html)
    dupes = {i for i in p.ids if p.ids.count(i) > 1}
    assert not dupes, dupes
    unlabelled = [f for f in p.fields if f not in p.labelled]
    assert not unlabelled, unlabelled
    assert not p.inline, p.inline
    assert html.count("<h1") == 1


def call(svc: Any, method: str, path: str, role: str, status: int = 200, **kw: Any) -> Any:
    """A JSON API request with ``role``'s key that must answer ``status``."""
    r = svc.client.request(method, path, headers=svc.h(role), **kw)
    assert r.status_code == status, (method, path, r.status_code, r.text[:1000])
    return r.json()


def discussion_cycle(svc: Any) -> str:
    """A Gulou cycle of the demo in ``discussion`` with an adopted draft (through the
    JSON API)."""
    from conftest import ROOT, zip_folder  # conftest imports this module

    base = svc.upload(zip_folder(ROOT / "datasets" / "fuzhou-demo"))["id"]
    cid = call(
        svc,
        "POST",
        "/cycles",
        "planner",
        201,
        json={"district": "Gulou", "period": "2026-Q4", "dataset_id": base},
    )["id"]
    call(svc, "POST", f"/cycles/{cid}/moves/open_planning", "planner")
    run = svc.wait(call(svc, "POST", f"/cycles/{cid}/runs", "planner", 202, json={})["id"])
    assert run["status"] == "succeeded", run
    call(svc, "POST", f"/cycles/{cid}/draft", "planner", json={"run_id": run["id"]})
    call(svc, "POST", f"/cycles/{cid}/moves/submit", "planner")
    return cid


def junmen_project(svc: Any, cid: str) -> str:
    """A project of C-JUNMEN in the draft."""
    draft = call(svc, "GET", f"/cycles/{cid}/draft", "planner")
    return next(p["demand_id"] for p in draft["projects"] if p["community_id"] == "C-JUNMEN")


@contextmanager
def demo_served(folder: Path, **env: str) -> Iterator[dict[str, Any]]:
    """A real ``matcher serve`` on a fresh demo store in ``folder`` (seeded as
    ``matcher serve --demo`` seeds it): its base URL, the users' passwords and the
    cycle's id; the browser tests skip (fail on CI) without Debian's Chromium."""
    import os

    from browser import browser_missing
    from conftest import kill_server, make_keys, spawn_server  # conftest imports this module

    from api.db.session import make_engine, make_sessionmaker, session_scope
    from api.demo import seed_demo
    from api.settings import Settings

    problem = browser_missing()
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    url = f"sqlite:///{folder / 'demo.db'}"
    make_keys(url)  # migrates the store
    engine = make_engine(url)
    with session_scope(make_sessionmaker(engine)) as session:
        users = {u.username: u.password for u in seed_demo(session, Settings(database_url=url))}
    with engine.connect() as conn:
        cycle = conn.exec_driver_sql("SELECT id FROM cycles").scalar_one()
    engine.dispose()
    environ = {**os.environ, "DATABASE_URL": url, "MATCHER_LOG_LEVEL": "warning", **env}
    process, base = spawn_server(environ, folder, folder / "server.log")
    try:
        yield {"base": base, "users": users, "cycle": cycle}
    finally:
        kill_server(process)
