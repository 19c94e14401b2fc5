"""The service's brakes against a real ``matcher serve``: rate limits per address, per
key and on bad keys (429 with Retry-After), the cap on queued runs per key,
Idempotency-Keys scoped to the API key that sent them, and the security headers (the
report's Content-Security-Policy checked against the page served, and in Chromium)."""

from __future__ import annotations

import base64
import hashlib
import os
import time
from html.parser import HTMLParser
from itertools import chain
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser import CHROMEDRIVER, CHROMIUM, browser_missing
from sqlalchemy import create_engine, text


def _upload(s: Any, data: bytes) -> str:
    r = httpx.post(
        f"{s.base}/datasets",
        content=data,
        headers={**s.h("planner"), "Content-Type": "application/zip"},
        timeout=120,
    )
    assert r.status_code in (200, 201), r.text
    return str(r.json()["id"])


def _retry_after(r: httpx.Response, most: int) -> int:
    """The Retry-After of a 429: whole seconds, at least 1, at most ``most``."""
    assert r.status_code == 429, r.text
    wait = int(r.headers["retry-after"])
    assert 1 <= wait <= most, wait
    return wait


def _wait_run(s: Any, run_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        run: dict[str, Any] = httpx.get(f"{s.base}/runs/{run_id}", headers=s.h("viewer")).json()
        if run["status"] in ("succeeded", "failed", "cancelled"):
            return run
        assert time.monotonic() < deadline, run["status"]
        time.sleep(0.1)


def test_bad_key_flood_blocks_the_address(live_server: Any) -> None:
    s = live_server(MATCHER_RATE_LIMIT_FAILED_AUTH="5/minute")
    before = s.rss_mib()
    with httpx.Client(base_url=s.base) as c:
        # no key at all is no guess: never counted
        for _ in range(8):
            assert c.get("/runs").status_code == 401
        bad = [{"X-API-Key": f"mk_guess{i}"} for i in range(3)]
        bad += [{"Authorization": "Bearer mk_guess"}, {"Authorization": "Basic eDp5"}]
        for headers in bad:
            assert c.get("/runs", headers=headers).status_code == 401
        flood = c.get("/runs", headers={"X-API-Key": "mk_guess_again"})
        _retry_after(flood, 60)
        assert flood.json()["code"] == "too_many_failed_auths"
        assert "MATCHER_RATE_LIMIT_FAILED_AUTH" in flood.json()["detail"]
        assert flood.headers["x-content-type-options"] == "nosniff"
        # every keyed request from the address is refused now, a good key's too: a right
        # guess must look like a wrong one
        good = c.get("/runs", headers=s.h("admin"))
        assert good.status_code == 429 and good.json()["code"] == "too_many_failed_auths"
        # open routes still answer
        assert c.get("/health").status_code == 200
        # the audit's flood (hundreds of guesses a second) is turned away cheaply
        started = time.monotonic()
        codes = {c.get("/runs", headers={"X-API-Key": f"mk_x{i}"}).status_code for i in range(500)}
        assert codes == {429}
        print(f"500 guesses refused in {time.monotonic() - started:.2f} s")
    s.assert_memory(before, 50, "bad-key flood")


def test_per_address_limit_counts_every_request(live_server: Any) -> None:
    s = live_server(MATCHER_RATE_LIMIT_PER_ADDRESS="12/minute")
    with httpx.Client(base_url=s.base) as c:
        codes = [c.get("/health").status_code for _ in range(12)]
        # the fixture's readiness probe was this address's first request
        assert codes.count(200) in (11, 12) and set(codes[:11]) == {200}, codes
        refused = c.get("/health")
        _retry_after(refused, 60)
        assert refused.json()["code"] == "rate_limited"
        assert "MATCHER_RATE_LIMIT_PER_ADDRESS" in refused.json()["detail"]
        # good keys from the same address are limited with it
        assert c.get("/runs", headers=s.h("admin")).status_code == 429
        assert c.get("/docs").status_code == 429


def test_per_key_limit_and_its_retry_after(live_server: Any) -> None:
    s = live_server(MATCHER_RATE_LIMIT_PER_KEY="6/3 seconds")
    with httpx.Client(base_url=s.base) as c:
        for _ in range(6):
            assert c.get("/runs", headers=s.h("viewer")).status_code == 200
        refused = c.get("/runs", headers=s.h("viewer"))
        wait = _retry_after(refused, 3)
        assert refused.json()["code"] == "rate_limited"
        assert "6/3 seconds" in refused.json()["detail"]
        # another key from the same address is not held back by the viewer's count
        assert c.get("/runs", headers=s.h("planner")).status_code == 200
        time.sleep(wait + 0.05)
        assert c.get("/runs", headers=s.h("viewer")).status_code == 200


def test_limits_off(live_server: Any) -> None:
    s = live_server(
        MATCHER_RATE_LIMITS="false",
        MATCHER_RATE_LIMIT_PER_KEY="2/minute",
        MATCHER_RATE_LIMIT_FAILED_AUTH="2/minute",
    )
    with httpx.Client(base_url=s.base) as c:
        for _ in range(6):
            assert c.get("/runs", headers={"X-API-Key": "mk_nope"}).status_code == 401
            assert c.get("/runs", headers=s.h("viewer")).status_code == 200


def test_queued_run_cap_per_key(live_server: Any, slow_zip: bytes, example_zip: bytes) -> None:
    s = live_server(MATCHER_MAX_QUEUED_RUNS_PER_KEY="3", MATCHER_MAX_CONCURRENT_RUNS="1")
    before = s.rss_mib()
    slow, example = _upload(s, slow_zip), _upload(s, example_zip)
    with httpx.Client(base_url=s.base, timeout=60) as c:
        # the slow city holds the one worker; the runs behind it stay queued
        first = c.post("/runs", json={"dataset_id": slow}, headers=s.h("planner"))
        assert first.status_code == 202
        deadline = time.monotonic() + 60
        while (
            c.get(f"/runs/{first.json()['id']}", headers=s.h("viewer")).json()["status"]
            != "running"
        ):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        queued = [
            c.post(
                "/runs",
                json={"dataset_id": example, "label": f"q{i}"},
                headers={**s.h("planner"), "Idempotency-Key": f"q{i}"},
            )
            for i in range(3)
        ]
        assert [r.status_code for r in queued] == [202, 202, 202]
        over = c.post("/runs", json={"dataset_id": example}, headers=s.h("planner"))
        assert _retry_after(over, 30) == 30
        body = over.json()
        assert body["code"] == "too_many_queued_runs"
        assert "MATCHER_MAX_QUEUED_RUNS_PER_KEY=3" in body["detail"]
        # the audit queued 100 runs in half a second: none of these is queued
        flood = [
            c.post("/runs", json={"dataset_id": example}, headers=s.h("planner")).status_code
            for _ in range(100)
        ]
        assert set(flood) == {429}
        # recommendation runs count against the same cap
        rec = c.post(
            "/recommendations",
            json={"kind": "alliances", "dataset_id": example},
            headers=s.h("planner"),
        )
        assert rec.status_code == 429 and rec.json()["code"] == "too_many_queued_runs"
        # repeating a queued run's request with its Idempotency-Key makes no new run: it is
        # answered at the cap; without the key it is a new run, refused
        body = {"dataset_id": example, "label": "q0"}
        again = c.post("/runs", json=body, headers={**s.h("planner"), "Idempotency-Key": "q0"})
        assert again.status_code == 202 and again.json()["id"] == queued[0].json()["id"]
        assert c.post("/runs", json=body, headers=s.h("planner")).status_code == 429
        # the cap is per key: another planner still queues
        other = c.post("/runs", json={"dataset_id": example}, headers=s.h("gulou_planner"))
        assert other.status_code == 202, other.text
        listed = c.get("/runs", params={"status": "queued"}, headers=s.h("viewer")).json()
        assert listed["total"] == 4
        # a cancelled run frees a place
        run_id = queued[0].json()["id"]
        assert c.post(f"/runs/{run_id}/cancel", headers=s.h("planner")).status_code == 200
        assert (
            c.post("/runs", json={"dataset_id": example}, headers=s.h("planner")).status_code == 202
        )
        c.post(f"/runs/{first.json()['id']}/cancel", headers=s.h("planner"))
    s.assert_memory(before, 150, "queued-run cap")


def test_idempotency_keys_are_scoped_to_the_api_key(live_server: Any, example_zip: bytes) -> None:
    s = live_server()
    dataset = _upload(s, example_zip)
    with httpx.Client(base_url=s.base, timeout=60) as c:
        made = c.post(
            "/keys", json={"role": "planner", "name": "second planner"}, headers=s.h("admin")
        )
        assert made.status_code == 201, made.text
        other = {"X-API-Key": made.json()["key"]}
        body = {"dataset_id": dataset, "label": "weekly"}

        def post(path: str, headers: dict[str, str], key: str, json: Any = body) -> Any:
            r = c.post(path, json=json, headers={**headers, "Idempotency-Key": key})
            assert r.status_code == 202, r.text
            return r.json()["id"]

        a1 = post("/runs", s.h("planner"), "weekly-48")
        a2 = post("/runs", s.h("planner"), "weekly-48")
        b1 = post("/runs", other, "weekly-48")
        b2 = post("/runs", other, "weekly-48")
        assert a1 == a2 and b1 == b2 and a1 != b1
        rec = {"kind": "alliances", "dataset_id": dataset}
        ra = post("/recommendations", s.h("planner"), "rec-1", rec)
        rb = post("/recommendations", other, "rec-1", rec)
        assert ra != rb and post("/recommendations", other, "rec-1", rec) == rb
        # another body under the same key and API key is still refused
        r = c.post(
            "/runs",
            json={**body, "label": "other"},
            headers={**other, "Idempotency-Key": "weekly-48"},
        )
        assert r.status_code == 422 and r.json()["code"] == "idempotency_key_reused"

        # stored as "<api key id>:<Idempotency-Key>"
        engine = create_engine(s.url)
        with engine.begin() as conn:
            stored = {
                i: (k, by)
                for i, k, by in conn.execute(
                    text("SELECT id, idempotency_key, created_by FROM runs")
                ).all()
            }
            a_id, b_id = stored[a1][1], stored[b1][1]
            assert a_id != b_id
            assert stored[a1][0] == f"{a_id}:weekly-48" and stored[b1][0] == f"{b_id}:weekly-48"
            # keys stored bare before they were scoped: they match no new request
            conn.execute(
                text("UPDATE runs SET idempotency_key = 'weekly-48' WHERE id = :i"), {"i": a1}
            )
            # and a bare one that happens to read "<id>:<key>" is not handed to that key
            conn.execute(
                text("UPDATE runs SET idempotency_key = :k WHERE id = :i"),
                {"k": f"{a_id}:clash", "i": b1},
            )
        engine.dispose()
        a3 = post("/runs", s.h("planner"), "weekly-48")
        assert a3 not in (a1, b1)
        assert c.get(f"/runs/{a1}", headers=s.h("viewer")).status_code == 200
        clash = c.post("/runs", json=body, headers={**s.h("planner"), "Idempotency-Key": "clash"})
        assert clash.status_code == 422 and clash.json()["code"] == "idempotency_key_reused"


class _Inline(HTMLParser):
    """Every inline script and style block and style attribute of a page, as a browser
    would hash them (parsed by html.parser, independently of the server's regexes)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.attrs: list[str] = []
        self.external: list[str] = []
        self._open: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("style") is not None:
            self.attrs.append(str(found["style"]))
        if tag == "script" and found.get("src"):
            self.external.append(str(found["src"]))
        elif tag in ("script", "style"):
            self._open, self._text = tag, []
        if tag in ("link", "img", "iframe") and (found.get("href") or found.get("src")):
            self.external.append(str(found.get("href") or found.get("src")))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        if self._open:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._open == tag:
            (self.scripts if tag == "script" else self.styles).append("".join(self._text))
            self._open = None


def _hash(text_: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text_.encode()).digest()).decode() + "'"


def _policy(header: str) -> dict[str, list[str]]:
    parts = (d.split() for d in header.split(";") if d.strip())
    return {p[0]: p[1:] for p in parts}


@pytest.fixture
def report_server(live_server: Any, example_zip: bytes) -> tuple[Any, str]:
    s = live_server(MATCHER_MAX_BODY_BYTES=str(1 << 20))
    dataset = _upload(s, example_zip)
    r = httpx.post(f"{s.base}/runs", json={"dataset_id": dataset}, headers=s.h("planner"))
    assert r.status_code == 202, r.text
    run_id = str(r.json()["id"])
    assert _wait_run(s, run_id)["status"] == "succeeded"
    return s, run_id


def test_security_headers_and_the_reports_policy(report_server: tuple[Any, str]) -> None:
    s, run_id = report_server
    page = httpx.get(f"{s.base}/runs/{run_id}/report", headers=s.h("viewer"), timeout=60)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["x-frame-options"] == "DENY"
    policy = _policy(page.headers["content-security-policy"])
    assert policy["default-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"] and policy["form-action"] == ["'self'"]
    inline = _Inline()
    inline.feed(page.text)
    assert inline.scripts and inline.styles and inline.attrs and not inline.external
    # exactly the page's own blocks are allowed, by hash: nothing inline in general, no
    # host, so an injected block would not run
    assert sorted(policy["script-src"]) == sorted({_hash(t) for t in inline.scripts})
    attrs = {_hash(t) for t in inline.attrs}
    blocks = {_hash(t) for t in inline.styles}
    assert sorted(policy["style-src"]) == sorted({"'unsafe-hashes'"} | blocks | attrs)
    assert not any("unsafe-inline" in v or "http" in v for v in chain(*policy.values()))
    # JSON, CSV and errors carry the headers too, with a policy that allows nothing
    for path, headers in (
        (f"/runs/{run_id}", s.h("viewer")),
        (f"/runs/{run_id}/assignments.csv", s.h("viewer")),
        ("/runs", {}),
        ("/health", {}),
    ):
        r = httpx.get(s.base + path, headers=headers)
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert r.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    big = httpx.post(
        f"{s.base}/datasets",
        headers={**s.h("planner"), "Content-Type": "application/zip"},
        content=b"x" * (2 << 20),
    )
    assert big.status_code == 413 and big.headers["x-content-type-options"] == "nosniff"


def test_docs_pages_have_a_policy_that_lets_them_load(live_server: Any) -> None:
    s = live_server()
    for path, library in (("/docs", "swagger-ui"), ("/redoc", "redoc")):
        r = httpx.get(s.base + path)
        assert r.status_code == 200 and r.headers["x-content-type-options"] == "nosniff"
        policy = _policy(r.headers["content-security-policy"])
        inline = _Inline()
        inline.feed(r.text)
        scripts = {_hash(t) for t in inline.scripts}
        assert set(policy["script-src"]) == scripts | {"https://cdn.jsdelivr.net"}, path
        # every script and stylesheet the page loads is from a host its policy names
        for url in inline.external:
            host = "/".join(url.split("/")[:3])
            allowed = policy["script-src"] + policy["style-src"] + policy["img-src"]
            assert host in allowed, (path, url)
        assert any(library in u for u in inline.external)
        assert policy["frame-ancestors"] == ["'none'"] and policy["connect-src"] == ["'self'"]


def test_report_works_in_chromium_under_its_policy(
    report_server: tuple[Any, str], tmp_path: Path
) -> None:
    problem = browser_missing()
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    s, run_id = report_server
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver: Any = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        # the page needs the key: sent on every request the browser makes
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": s.h("viewer")})
        driver.get(f"{s.base}/runs/{run_id}/report")
        assert driver.execute_script("return document.readyState") == "complete"
        logs = driver.get_log("browser")
        assert [e for e in logs if e["level"] in ("SEVERE", "WARNING")] == [], logs
        # the inline script ran (it draws the scale bar) ...
        assert driver.find_element(By.ID, "map").get_attribute("data-scale-km")
        # ... the style block applied, and the style attributes (hidden pairing ties)
        ties = driver.find_element(By.ID, "map-ties")
        assert ties.value_of_css_property("display") == "none"
        body = driver.find_element(By.TAG_NAME, "body")
        assert body.value_of_css_property("margin-top") == "0px"  # the block's body{margin:0}
        driver.find_element(By.ID, "toggle-ties").click()
        assert ties.value_of_css_property("display") != "none"
        # the policy is enforced and the console read: an injected inline script is refused
        driver.execute_script(
            "var s = document.createElement('script');"
            "s.textContent = 'window.injected = 1'; document.body.appendChild(s);"
        )
        assert driver.execute_script("return window.injected === undefined")
        refused = [
            e for e in driver.get_log("browser") if "Content Security Policy" in e["message"]
        ]
        assert refused, "the injected script was not reported"
    finally:
        driver.quit()


def test_a_large_page_is_hashed_whole(kit: Any) -> None:
    """A page past the size scanned off the event loop, sent in chunks: the policy is
    built from all of it, and the body arrives unchanged."""
    from starlette.applications import Starlette
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    from api.middleware import SecurityHeaders

    marks = "".join(f'<i style="color:#{i % 7}{i % 5}{i % 3}">{i}</i>\n' for i in range(40_000))
    page = (
        "<!doctype html><html><head><style>i{margin:1px}</style></head><body>"
        f"{marks}<script>document.title = 'big \u00e9t\u00e9';</script></body></html>"
    ).encode()
    assert len(page) > 1 << 20

    async def chunks() -> Any:
        for start in range(0, len(page), 65536):
            yield page[start : start + 65536]

    async def big(_request: Any) -> StreamingResponse:
        return StreamingResponse(chunks(), media_type="text/html; charset=utf-8")

    app = SecurityHeaders(Starlette(routes=[Route("/big", big)]))
    with kit.TestClient(app) as client:
        r = client.get("/big")
    assert r.content == page and r.headers["x-content-type-options"] == "nosniff"
    policy = _policy(r.headers["content-security-policy"])
    inline = _Inline()
    inline.feed(page.decode())
    assert len(set(inline.attrs)) == 7 * 5 * 3
    assert policy["script-src"] == [_hash(inline.scripts[0])]
    expected = {_hash(t) for t in inline.styles} | {_hash(t) for t in inline.attrs}
    assert set(policy["style-src"]) == expected | {"'unsafe-hashes'"}
