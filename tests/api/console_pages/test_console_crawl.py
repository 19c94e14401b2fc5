"""Every page a person can reach by following the console's links renders: a crawl
from the home page, as each role, over a cycle in delivery (its list published) and a
plan run. No link leads to an error, every page has its language and its one h1, and
nothing stored is shown unescaped."""

from __future__ import annotations

import re
from collections import deque

import pytest
from conftest import delivery_cycle
from console_kit import ConsoleKit

_LINK = re.compile(r'href="(/console/[^"#]*)"')
# links that change something or leave the pages (a language switch is a redirect)
_SKIP = ("/console/lang/", "/template.", ".csv", ".xlsx", "/report")
MAX_PAGES = 120


def _crawl(console: ConsoleKit, username: str) -> dict[str, int]:
    browser = console.as_(username)
    seen: dict[str, int] = {}
    todo = deque(["/console/"])
    while todo and len(seen) < MAX_PAGES:
        url = todo.popleft().replace("&amp;", "&")
        if url in seen:
            continue
        r = browser.get(url)
        seen[url] = r.status_code
        if r.status_code != 200 or "text/html" not in r.headers.get("content-type", ""):
            continue
        page = r.text
        assert page.count("<h1") == 1, url
        assert re.search(r'<html lang="(zh-CN|en)">', page), url
        assert "<script>alert" not in page, url
        for link in _LINK.findall(page):
            if not any(s in link for s in _SKIP) and link.replace("&amp;", "&") not in seen:
                todo.append(link)
    return seen


@pytest.mark.parametrize("username", ["admin", "planner", "community", "unit", "street_reviewer"])
def test_every_linked_page_renders(console: ConsoleKit, username: str) -> None:
    cycle = delivery_cycle(console.svc)
    seen = _crawl(console, username)
    broken = {url: status for url, status in seen.items() if status != 200}
    assert not broken, broken
    # the crawl reached the cycle's pages
    assert any(f"/console/cycles/{cycle.id}/delivery" in url for url in seen)
