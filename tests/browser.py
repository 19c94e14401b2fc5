"""Debian's headless Chromium and its driver, as the browser tests use them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def browser_missing() -> str | None:
    """Why the browser tests cannot run here (``None`` when they can)."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (Path(path).is_file() and os.access(path, os.X_OK)):
            return f"{path} is not installed (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    return None


ROOT = Path(__file__).resolve().parents[1]
AXE = ROOT / ".venv" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
"""axe-core as `make test` fetches it from the npm registry (the Makefile's AXE)."""


def chromium(profile: Path, width: int = 1440, height: int = 1000, lang: str = "zh-CN") -> Any:
    """A headless Debian Chromium with a fresh profile, a window of ``width`` ×
    ``height``, asking for ``lang``, logging the console and every network request
    (:func:`requests_made`). The driver is Debian's: nothing is downloaded."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
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
        f"--window-size={width},{height}",
        f"--lang={lang}",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"intl.accept_languages": lang})
    if width < 500:
        # headless windows are at least 500 px wide: a phone is emulated instead (its
        # CSS pixels, a touch screen, the mobile viewport)
        options.add_experimental_option(
            "mobileEmulation",
            {"deviceMetrics": {"width": width, "height": height, "pixelRatio": 2.0}},
        )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


def requests_made(driver: Any) -> list[str]:
    """The URLs the page asked for since the last call (from the performance log)."""
    import json

    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def console_errors(driver: Any) -> list[str]:
    """The console's errors since the last call (a refused CSP shows here too)."""
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def axe_violations(driver: Any, impacts: tuple[str, ...] = ("serious", "critical")) -> list[str]:
    """axe-core's violations of ``impacts`` on the current page, one line each. The
    script is evaluated through the driver (not loaded by the page, whose policy allows
    only its own files)."""
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        ".then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))))"
        ".catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));"
    )
    return [
        f"{v['impact']}: {v['id']} ({v['help']}) at {v['nodes']}"
        for v in result
        if v["impact"] in impacts
    ]


def check_page(driver: Any, base: str, shots: Path, name: str) -> None:
    """The checks every console page passes in the browser tests, and its screenshot
    (``shots/<name>.png``): loaded, no server error, no sideways scroll, no serious or
    critical axe-core violation, no console error, no request away from ``base``."""
    from urllib.parse import urlparse

    assert driver.execute_script("return document.readyState") == "complete"
    assert "HTTP 5" not in driver.page_source, f"{name}: a server error"
    wide = driver.execute_script(
        "return document.documentElement.scrollWidth > document.documentElement.clientWidth"
    )
    assert not wide, f"{name}: the page scrolls sideways"
    assert axe_violations(driver) == [], name
    assert console_errors(driver) == [], name
    host = urlparse(base).netloc
    away = [
        u
        for u in requests_made(driver)
        if u.startswith(("http:", "https:", "ws:", "wss:")) and urlparse(u).netloc != host
    ]
    assert away == [], f"{name}: requests left 127.0.0.1: {away}"
    driver.save_screenshot(str(shots / f"{name}.png"))
