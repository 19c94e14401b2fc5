"""The console in a real browser: Debian's headless Chromium (selenium) against a real
``matcher serve`` on 127.0.0.1, seeded with the demo city (``matcher serve --demo``'s
seeding). Four people — a district planner, a community secretary and a street reviewer
at a desk (1440 px), and a resident on a phone (375 px) — sign in and read their pages,
in Chinese and in English. On every page: axe-core finds no serious or critical
violation, the browser logs no error, no request leaves 127.0.0.1, and the page does
not scroll sideways. Each page is screenshotted into the test's folder."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from browser import (
    check_page,
    chromium,
)
from console_kit import demo_served

PEOPLE = {
    # who: (user, width, the pages they read after home)
    "planner": (
        "planner",
        1440,
        (
            "/console/cycles",
            "{cycle}",
            "{cycle}/lists",
            "{cycle}/draft",
            "/console/runs",
            "{cycle}/audit",
            "/console/account",
        ),
    ),
    "community": ("community", 1440, ("{cycle}", "{cycle}/lists", "{cycle}/discussion")),
    "street": ("street", 1440, ("{cycle}", "{cycle}/discussion", "{cycle}/notice")),
    # every page of a cycle on a phone too (tables scroll inside their frame)
    "planner-phone": (
        "planner",
        375,
        (
            "/console/cycles",
            "{cycle}",
            "{cycle}/lists",
            "{cycle}/draft",
            "{cycle}/discussion",
            "{cycle}/notice",
            "{cycle}/delivery",
            "{cycle}/evaluation",
            "/console/runs",
            "{cycle}/audit",
        ),
    ),
    "admin": ("admin", 1440, ("/console/users", "/console/audit")),
}


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A real server on the demo, shared by the module's tests; screenshots beside it."""
    folder = tmp_path_factory.mktemp("console-browser")
    with demo_served(folder) as server:
        yield {**server, "shots": folder}


def _sign_in(driver: Any, base: str, user: str, password: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver.get(base + "/console/sign-in")
    driver.find_element(By.ID, "f-username").send_keys(user)
    field = driver.find_element(By.ID, "f-password")
    field.send_keys(password)
    field.send_keys(Keys.ENTER)  # by keyboard, as a person would
    from selenium.webdriver.support.ui import WebDriverWait

    # the sign-in is a POST and a redirect: wait for the page it leads to
    WebDriverWait(driver, 30, poll_frequency=0.1).until(
        lambda d: (
            urlparse(d.current_url).path != "/console/sign-in"
            and d.execute_script("return document.readyState") == "complete"
        )
    )


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
@pytest.mark.parametrize("who", sorted(PEOPLE))
def test_person_reads_their_pages(
    demo_server: dict[str, Any], who: str, lang: str, tmp_path: Path
) -> None:
    user, width, pages = PEOPLE[who]
    base, shots = demo_server["base"], demo_server["shots"]
    driver = chromium(tmp_path / "profile", width=width, height=800, lang=lang)
    try:
        _sign_in(driver, base, user, demo_server["users"][user])
        assert urlparse(driver.current_url).path == "/console/"
        html_lang = driver.find_element("css selector", "html").get_attribute("lang")
        assert html_lang == ("zh-CN" if lang == "zh-CN" else "en")
        check_page(driver, base, shots, f"{lang}-{who}-home")
        for page in pages:
            url = page.format(cycle=f"/console/cycles/{demo_server['cycle']}")
            driver.get(base + url)
            assert "HTTP 4" not in driver.page_source and "HTTP 5" not in driver.page_source, url
            name = re.sub(r"[^a-z]+", "-", url.replace(demo_server["cycle"], "cycle")).strip("-")
            check_page(driver, base, shots, f"{lang}-{who}-{name}")
    finally:
        driver.quit()


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_resident_on_a_phone(demo_server: dict[str, Any], lang: str, tmp_path: Path) -> None:
    """A resident opens the community's public page on a phone: no sign-in."""
    base, shots = demo_server["base"], demo_server["shots"]
    driver = chromium(tmp_path / "profile", width=375, height=800, lang=lang)
    try:
        driver.get(f"{base}/public/cycles/{demo_server['cycle']}/communities/C-JUNMEN")
        assert "sign-in" not in driver.current_url
        check_page(driver, base, shots, f"{lang}-resident-notice")
        # the console itself asks a resident to sign in
        driver.get(base + "/console/")
        assert urlparse(driver.current_url).path == "/console/sign-in"
        check_page(driver, base, shots, f"{lang}-resident-sign-in")
    finally:
        driver.quit()
