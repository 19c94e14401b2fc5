"""The report in a real browser: Debian's headless Chromium driven by selenium.

The browser is the system's (``/usr/bin/chromium`` with ``/usr/bin/chromedriver``,
installed by ``.ci/run``); nothing is downloaded. Without them the tests skip, except in
CI (``CI=true``), where they fail. One browser serves the module's tests.

Every check runs on the English page and on the Chinese one (``lang="zh"``), and a
screenshot of the Chinese page proves its Chinese text is drawn with real glyphs, not
missing-glyph boxes (with ``fonts-noto-cjk``; without any Chinese font that test skips).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import CHROMEDRIVER, CHROMIUM, browser_missing

import matcher
from matcher.i18n import translator
from matcher.report.html import FONT_STACK, build_reports, write_report

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "datasets" / "fuzhou-demo"
LANGS = ("en", "zh")


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
    of the first compared with the second, in each language."""
    root = tmp_path_factory.mktemp("demo-report")
    ds = matcher.load_dataset(DEMO)
    base, near = root / "default", root / "near-3km"
    matcher.plan(ds).write(base)
    matcher.plan(ds, matcher.PlanParams(max_travel_km=3.0)).write(near)
    pages = build_reports(base, ds, other=near, langs=LANGS)
    return {
        "pages": {
            lang: write_report(page, root / f"report.{lang}.html") for lang, page in pages.items()
        },
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


@pytest.mark.parametrize("lang", LANGS)
def test_page_loads_and_every_chart_renders(
    browser: Any, demo: dict[str, Any], tmp_path: Path, lang: str
) -> None:
    page = demo["pages"][lang]
    browser.get(page.as_uri())
    assert browser.execute_script("return document.documentElement.lang") == (
        "zh-CN" if lang == "zh" else "en"
    )
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
    shot = tmp_path / f"report.{lang}.png"
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    shutil.copy(shot, page.with_suffix(".png"))
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


@pytest.mark.parametrize("lang", LANGS)
def test_numbers_shown_equal_the_plans_kpis(browser: Any, demo: dict[str, Any], lang: str) -> None:
    browser.get(demo["pages"][lang].as_uri())
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
    label = translator(lang)("{share} · {covered} of {demanded} h")
    expected = [
        label.format(
            share=f"{v['coverage'] * 100:.1f}%",
            covered=f"{v['hours_covered']:,}",
            demanded=f"{v['hours_demanded']:,}",
        )
        for v in kpis["coverage_by_district"].values()
    ]
    assert labels == expected


@pytest.mark.parametrize("lang", LANGS)
def test_pairing_ties_switch_and_district_zoom(
    browser: Any, demo: dict[str, Any], lang: str
) -> None:
    from selenium.webdriver.common.by import By

    browser.get(demo["pages"][lang].as_uri())
    ds = demo["dataset"]
    assert browser.find_element(By.ID, "map-ties").value_of_css_property("display") == "none"
    browser.find_element(By.ID, "toggle-ties").click()
    ties = _boxes(browser, "#map-ties line.tie")
    assert len(ties) == len(ds.pairings)
    assert sum(1 for b in ties if b["w"] > 0 or b["h"] > 0) == len(ties)
    browser.find_element(By.ID, "toggle-ties").click()
    assert all(b["w"] == 0 for b in _boxes(browser, "#map-ties line.tie"))
    # zoom to Mawei: its communities fill the view, the others mostly leave it
    scale = browser.find_element(By.CSS_SELECTOR, "#map-scale text").text
    assert scale.endswith(" 公里" if lang == "zh" else " km"), scale
    for button in browser.find_elements(By.CSS_SELECTOR, "#map-zoom button"):
        if button.get_attribute("data-district") == "Mawei":
            # named in the page's language; data-district keeps the data's name
            assert button.text == ("马尾区" if lang == "zh" else "Mawei")
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


# Draws characters on a canvas in the page's own font stack and returns, for each, its
# bitmap as a string of 0s and 1s (alpha above half), with the bitmaps of two characters
# no font has: a private-use one and the last one of plane 16.
_GLYPHS = """
var chars = arguments[0], font = arguments[1];
var canvas = document.createElement('canvas');
canvas.width = 40; canvas.height = 40;
var ctx = canvas.getContext('2d', {willReadFrequently: true});
function bitmap(ch) {
  ctx.clearRect(0, 0, 40, 40);
  ctx.font = '28px ' + font;
  ctx.fillStyle = '#000';
  ctx.textBaseline = 'alphabetic';
  ctx.fillText(ch, 4, 32);
  var data = ctx.getImageData(0, 0, 40, 40).data, bits = '';
  for (var i = 3; i < data.length; i += 4) { bits += data[i] > 127 ? '1' : '0'; }
  return bits;
}
return {
  chars: chars.map(bitmap),
  missing: [bitmap('\\uE000'), bitmap(String.fromCodePoint(0x10FFFD))],
  font: getComputedStyle(document.body).fontFamily
};
"""


def test_chinese_text_renders_with_real_glyphs(
    browser: Any, demo: dict[str, Any], tmp_path: Path
) -> None:
    """A screenshot of the Chinese page, and proof that its Chinese characters are drawn
    with glyphs: each differs from what the browser draws for a character no font has
    (the missing-glyph box, or nothing), and they differ from one another."""
    fonts = subprocess.run(
        ["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False
    ).stdout.strip()
    if not fonts:
        message = "no font with Chinese glyphs is installed (apt-get install fonts-noto-cjk)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    page = demo["pages"]["zh"]
    browser.get(page.as_uri())
    text = browser.execute_script("return document.body.innerText")
    chinese = sorted({ch for ch in text if "\u4e00" <= ch <= "\u9fff"})
    assert len(chinese) > 150, "the Chinese page shows few Chinese characters"
    sample = chinese[:: max(1, len(chinese) // 200)]
    found = browser.execute_script(_GLYPHS, sample, FONT_STACK)
    assert "Noto Sans CJK SC" in found["font"]
    missing = set(found["missing"])
    boxes = [ch for ch, bits in zip(sample, found["chars"], strict=True) if bits in missing]
    assert boxes == [], f"drawn as missing glyphs: {''.join(boxes)}"
    blank = [ch for ch, bits in zip(sample, found["chars"], strict=True) if "1" not in bits]
    assert blank == [], f"drawn as nothing: {''.join(blank)}"
    # real glyphs differ from one another; boxes of a fallback would all be the same
    assert len(set(found["chars"])) >= 0.95 * len(sample)
    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(1200, min(int(height) + 40, 12000))
    shot = tmp_path / "report-zh.png"
    assert browser.save_screenshot(str(shot))
    browser.set_window_size(1200, 1000)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    print(f"\nscreenshot of the Chinese report: {shot}")
    assert _severe(browser) == []
