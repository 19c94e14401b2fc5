"""The report in a real browser: Debian's headless Chromium driven by selenium.

The browser is the system's (``/usr/bin/chromium`` with ``/usr/bin/chromedriver``,
installed by ``.ci/run``); nothing is downloaded. Without them the tests skip, except in
CI (``CI=true``), where they fail. One browser serves the module's tests.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import CHROMEDRIVER, CHROMIUM, browser_missing

import matcher
from matcher.report import build_report, write_report

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "datasets" / "fuzhou-demo"


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A headless Chromium with a fresh profile, reading the console at every level."""
    problem = browser_missing()
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tmp_path_factory.mktemp("chromium-profile")
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--window-size=1200,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: selenium-manager is never asked to fetch anything.
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The demo planned twice (default, and with a 3 km proximity radius) and the report
    of the first compared with the second."""
    root = tmp_path_factory.mktemp("demo-report")
    ds = matcher.load_dataset(DEMO)
    base, near = root / "default", root / "near-3km"
    matcher.plan(ds).write(base)
    matcher.plan(ds, matcher.PlanParams(max_travel_km=3.0)).write(near)
    page = write_report(build_report(base, ds, other=near), root / "report.html")
    return {
        "page": page,
        "dataset": ds,
        "kpis": json.loads((base / "kpis.json").read_text(encoding="utf-8")),
    }


def _severe(driver: Any) -> list[dict[str, Any]]:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def _boxes(driver: Any, selector: str) -> list[dict[str, float]]:
    boxes: list[dict[str, float]] = driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0])).map(function (e) {"
        " var r = e.getBoundingClientRect(); return {w: r.width, h: r.height}; });",
        selector,
    )
    return boxes


def test_page_loads_and_every_chart_renders(
    browser: Any, demo: dict[str, Any], tmp_path: Path
) -> None:
    browser.get(demo["page"].as_uri())
    assert browser.execute_script("return document.readyState") == "complete"
    assert _severe(browser) == []
    # nothing was fetched: the page is one file
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    kpis, ds = demo["kpis"], demo["dataset"]
    charts = {
        "map": len(ds.communities),
        "chart-districts": len(kpis["coverage_by_district"]),
        "chart-categories": len(kpis["coverage_by_category"]),
        "chart-supply": len(kpis["coverage_by_category"]),
        "chart-units": 20,
        "chart-reasons": len(kpis["reasons"]),
    }
    for chart, marks in charts.items():
        (box,) = _boxes(browser, f"#{chart}")
        assert box["w"] > 100 and box["h"] > 50, chart
        assert len(_boxes(browser, f"#{chart} .mark")) == marks, chart
    circles = _boxes(browser, "#map circle.community")
    assert all(b["w"] > 0 and b["h"] > 0 for b in circles)
    coverage_bars = _boxes(browser, "#chart-districts rect.mark")
    assert all(b["w"] > 0 for b in coverage_bars)
    (legend,) = _boxes(browser, "#map-legend")
    assert legend["w"] > 0 and legend["h"] > 0
    # the comparison is there too
    assert len(_boxes(browser, "#table-compare-kpis tr.compare-kpi")) >= 12
    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(1200, min(int(height) + 40, 12000))
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    shutil.copy(shot, demo["page"].with_suffix(".png"))
    browser.set_window_size(1200, 1000)
    # the console is really read: an error logged now is seen
    browser.execute_script("console.error('probe from the test')")
    assert any("probe from the test" in e["message"] for e in _severe(browser))


def _shown(value: Any, fmt: str) -> str:
    if fmt == "int":
        return f"{value:,}"
    if fmt == "pct":
        return f"{value * 100:.1f}%"
    return f"{value:,.2f}"


def test_numbers_shown_equal_the_plans_kpis(browser: Any, demo: dict[str, Any]) -> None:
    browser.get(demo["page"].as_uri())
    shown = browser.execute_script(
        "return Array.from(document.querySelectorAll('[data-kpi-path]')).map(function (e) {"
        " return [e.getAttribute('data-kpi-path'), e.getAttribute('data-format'),"
        " e.innerText]; });"
    )
    kpis = demo["kpis"]
    seen = set()
    for path_json, fmt, text in shown:
        value: Any = kpis
        for key in json.loads(path_json):
            value = value[key]
        assert text == _shown(value, fmt), path_json
        seen.add(".".join(json.loads(path_json)))
    assert {"coverage", "hours_covered", "hours_demanded", "demands_unmet"} <= seen
    assert {f"reasons.{r}" for r in kpis["reasons"]} <= seen
    # the district chart's labels read the plan's district coverage
    labels = browser.execute_script(
        "return Array.from(document.querySelectorAll('#chart-districts text.value'))"
        ".map(function (e) { return e.textContent; });"
    )
    expected = [
        f"{v['coverage'] * 100:.1f}% · {v['hours_covered']:,} of {v['hours_demanded']:,} h"
        for v in kpis["coverage_by_district"].values()
    ]
    assert labels == expected


def test_pairing_ties_switch_and_district_zoom(browser: Any, demo: dict[str, Any]) -> None:
    from selenium.webdriver.common.by import By

    browser.get(demo["page"].as_uri())
    ds = demo["dataset"]
    assert browser.find_element(By.ID, "map-ties").value_of_css_property("display") == "none"
    browser.find_element(By.ID, "toggle-ties").click()
    ties = _boxes(browser, "#map-ties line.tie")
    assert len(ties) == len(ds.pairings)
    assert sum(1 for b in ties if b["w"] > 0 or b["h"] > 0) == len(ties)
    browser.find_element(By.ID, "toggle-ties").click()
    assert all(b["w"] == 0 for b in _boxes(browser, "#map-ties line.tie"))
    # zoom to Mawei: its communities fill the view, the others mostly leave it
    for button in browser.find_elements(By.CSS_SELECTOR, "#map-zoom button"):
        if button.text == "Mawei":
            button.click()
    inside = browser.execute_script(
        "var m = document.getElementById('map').getBoundingClientRect();"
        "return Array.from(document.querySelectorAll('#map circle.community')).map(function (c) {"
        " var r = c.getBoundingClientRect(), x = r.left + r.width / 2, y = r.top + r.height / 2;"
        " return [c.getAttribute('data-district'),"
        " x >= m.left && x <= m.right && y >= m.top && y <= m.bottom]; });"
    )
    mawei = [ok for district, ok in inside if district == "Mawei"]
    assert mawei and all(mawei)
    others_in_view = sum(1 for district, ok in inside if district != "Mawei" and ok)
    assert others_in_view < len(inside) - len(mawei)
    assert browser.find_element(By.ID, "map").get_attribute("viewBox") != (
        browser.find_element(By.ID, "map").get_attribute("data-full-viewbox")
    )
    assert _severe(browser) == []
