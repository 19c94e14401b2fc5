"""A whole quarter clicked through in a real browser, as people do it: Debian's headless
Chromium (selenium) against a real ``matcher serve`` on 127.0.0.1 seeded with the demo
city (``matcher serve --demo``'s seeding), once in Chinese and once in English (the
browser's Accept-Language), each language on its own fresh server and store.

A community secretary adds a demand; the district planner closes the lists, runs a plan
and watches its progress come in by itself, adopts it, edits the draft once and submits
it; the community comments; the street reviewer returns the list once, then approves it,
and so does the district reviewer; a resident on a phone reads the notice and objects;
the planner answers and publishes; hours are recorded and the community confirms them;
the community hands out rating tokens; the resident rates with one; the committee rates;
the planner closes the quarter and sees the ratings, the points and the audit log.

Every page the people see passes the checks of ``test_console_browser.py``: axe-core
finds no serious or critical violation, the browser logs no error, no request leaves
127.0.0.1, and the page does not scroll sideways. Each page is screenshotted into
``<tmp_path>/walkthrough-<lang>/`` named by its step (the folder is printed)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from browser import (
    check_page,
    chromium,
)
from console_kit import demo_served

from api.routes.console.audit import ACTION_LABELS
from matcher.i18n import translator

COMMUNITY = "C-JUNMEN"
NEW_DEMAND = "D9001"
DESK = (1440, 1000)
PHONE = (375, 800)
PEOPLE = {
    # who: (user name, window)
    "planner": ("planner", DESK),
    "community": ("community", DESK),
    "street": ("street", DESK),
    "district": ("district", DESK),
}
WALKED = (
    "add_demand",
    "open_planning",
    "run_plan",
    "adopt_run",
    "edit_draft",
    "submit",
    "comment",
    "return",
    "approve",
    "object",
    "answer_objection",
    "publish",
    "start_delivery",
    "record_delivery",
    "confirm_delivery",
    "issue_rating_tokens",
    "start_evaluation",
    "rate",
    "close",
)
"""The cycle's actions the people take, each listed by the audit log."""
WAIT_S = 30
RUN_WAIT_S = 120
"""The longest a plan on the demo may take on a slow machine (it takes a few seconds)."""


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A fresh server on a fresh demo store: its base URL, the users' passwords, the
    cycle's id."""
    folder = tmp_path / "server"
    folder.mkdir()
    with demo_served(folder, MATCHER_DISPATCH_INTERVAL_S="0.2") as server:
        yield server


# ---- the checks of every page ------------------------------------------------------------


# ---- people at their browsers --------------------------------------------------------------


@dataclass
class Walk:
    """The quarter's people, each at a browser, and the pages they have seen."""

    base: str
    cycle: str
    users: dict[str, str]
    lang: str
    tmp: Path
    shots: Path
    drivers: dict[str, Any] = field(default_factory=dict)
    step: int = 0
    shown: list[str] = field(default_factory=list)

    @property
    def c(self) -> str:
        return f"/console/cycles/{self.cycle}"

    def person(self, who: str) -> Any:
        """The browser of ``who`` (opened and signed in the first time)."""
        if who in self.drivers:
            return self.drivers[who]
        width, height = PHONE if who == "resident" else PEOPLE[who][1]
        driver = chromium(self.tmp / f"profile-{who}", width=width, height=height, lang=self.lang)
        self.drivers[who] = driver
        if who == "resident":
            # a headless window is never narrower than 500 px: the phone's screen is
            # emulated (as the browser's device toolbar does)
            driver.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 2, "mobile": True},
            )
        else:
            self.sign_in(who, driver)
        return driver

    def leave(self, who: str) -> None:
        """``who`` is done: the browser closes."""
        self.drivers.pop(who).quit()

    def close(self) -> None:
        for driver in self.drivers.values():
            driver.quit()
        self.drivers.clear()

    def check(self, who: str, name: str) -> Any:
        """The checks of the page ``who`` sees now, screenshotted as the next step."""
        self.step += 1
        label = f"{self.step:02d}-{who}-{name}"
        driver = self.drivers[who]
        check_page(driver, self.base, self.shots, label)
        self.shown.append(label)
        return driver

    def sign_in(self, who: str, driver: Any) -> None:
        """Open the console, get sent to the sign-in page, sign in by keyboard."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys

        user = PEOPLE[who][0]
        driver.get(self.base + "/console/")
        assert urlparse(driver.current_url).path == "/console/sign-in"
        html_lang = driver.find_element(By.CSS_SELECTOR, "html").get_attribute("lang")
        assert html_lang == ("zh-CN" if self.lang == "zh-CN" else "en")
        self.check(who, "sign-in")
        driver.find_element(By.ID, "f-username").send_keys(user)
        password = driver.find_element(By.ID, "f-password")
        password.send_keys(self.users[user])
        submitted(driver, lambda: password.send_keys(Keys.ENTER))
        assert urlparse(driver.current_url).path == "/console/", driver.current_url
        self.check(who, "home")

    # -- moving about ------------------------------------------------------------------------

    def open_cycle(self, who: str) -> Any:
        """From home (or any page), follow the link to the cycle."""
        driver = self.drivers[who]
        if urlparse(driver.current_url).path != "/console/":
            click(driver, "header .brand a")
        click(driver, f"main a[href='{self.c}']")
        self.check(who, "cycle")
        return driver

    def tab(self, who: str, suffix: str) -> Any:
        """Click one of the cycle's tabs (``""`` the overview, ``"/lists"``, ...)."""
        driver = self.drivers[who]
        click(driver, f"nav.tabs a[href='{self.c}{suffix}']")
        assert urlparse(driver.current_url).path == self.c + suffix
        self.check(who, (suffix or "/overview").strip("/"))
        return driver

    def move(self, who: str, action: str, expect: str, reason: str = "") -> Any:
        """On the cycle's overview, press the move's button; the phase becomes
        ``expect``."""
        from selenium.webdriver.common.by import By

        driver = self.tab(who, "")  # the overview, as it is now
        assert phase(driver) != expect
        form = driver.find_element(By.CSS_SELECTOR, f"form[action='{self.c}/moves/{action}']")
        if reason:
            form.find_element(By.TAG_NAME, "textarea").send_keys(reason)
        submitted(driver, form.find_element(By.CSS_SELECTOR, "button[type=submit]").click)
        assert phase(driver) == expect, (action, driver.find_element(By.TAG_NAME, "main").text)
        self.check(who, f"{action}-{expect}")
        return driver

    def public(self, query: str = "") -> Any:
        """The resident opens the community's public page."""
        driver = self.person("resident")
        driver.get(f"{self.base}/public/cycles/{self.cycle}/communities/{COMMUNITY}{query}")
        assert "sign-in" not in driver.current_url
        assert driver.execute_script("return window.innerWidth") == PHONE[0]
        self.check("resident", "public-notice")
        return driver


# ---- small helpers ---------------------------------------------------------------------------


def wait(driver: Any, seconds: float = WAIT_S) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds, poll_frequency=0.1)


def submitted(driver: Any, act: Any, seconds: float = WAIT_S) -> None:
    """Do ``act`` (a click, a key) and wait for the next page to have loaded (a mark
    left on the page before is gone, the new one is complete)."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_script("window.walkMark = true")
    act()
    WebDriverWait(
        driver, seconds, poll_frequency=0.1, ignored_exceptions=(WebDriverException,)
    ).until(
        lambda d: d.execute_script("return !window.walkMark && document.readyState === 'complete'")
    )


def click(driver: Any, css: str, seconds: float = WAIT_S) -> None:
    """Click the (first) element of ``css`` and wait for the page it opens."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    element = wait(driver, seconds).until(ec.element_to_be_clickable((By.CSS_SELECTOR, css)))
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    submitted(driver, element.click, seconds)


def choose(driver: Any, element_id: str, value: str) -> None:
    """Pick the option ``value`` of the select ``element_id``."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element(By.ID, element_id)).select_by_value(value)


def type_in(driver: Any, element_id: str, text: str) -> None:
    from selenium.webdriver.common.by import By

    element = driver.find_element(By.ID, element_id)
    element.clear()
    element.send_keys(text)


def press(driver: Any, form_css: str) -> None:
    """Press the submit button of the form ``form_css`` and wait for the answer."""
    click(driver, f"{form_css} button[type=submit]")


def phase(driver: Any) -> str:
    """The cycle's phase, from the badge of the page's heading."""
    from selenium.webdriver.common.by import By

    badge = driver.find_element(By.CSS_SELECTOR, "h1 .badge")
    found = re.search(r"\bphase-(\w+)", badge.get_attribute("class") or "")
    assert found, badge.get_attribute("outerHTML")
    return found.group(1)


def cells(driver: Any, css: str) -> list[list[str]]:
    """The rows of the (first) table of ``css`` as lists of cell texts."""
    from selenium.webdriver.common.by import By

    table = driver.find_element(By.CSS_SELECTOR, css)
    return [
        [td.text.strip() for td in tr.find_elements(By.TAG_NAME, "td")]
        for tr in table.find_elements(By.CSS_SELECTOR, "tbody tr")
    ]


def text_of(driver: Any, css: str = "main") -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.CSS_SELECTOR, css).text)


# ---- the quarter -----------------------------------------------------------------------------


def collect(w: Walk) -> None:
    """1. The community secretary adds a demand while the cycle collects its lists."""
    from selenium.webdriver.common.by import By

    driver = w.person("community")
    todo = driver.find_elements(By.CSS_SELECTOR, "main .card .todo li")
    assert todo, "the community's home shows nothing waiting"
    w.open_cycle("community")
    assert phase(driver) == "collecting"
    w.tab("community", "/lists")
    click(driver, f"main a[href='{w.c}/lists/demands/new']")
    w.check("community", "demand-form")
    type_in(driver, "f-demand_id", NEW_DEMAND)
    choose(driver, "f-community_id", COMMUNITY)
    choose(driver, "f-category", "elderly_care")
    type_in(driver, "f-hours", "6")
    type_in(driver, "f-priority", "5")
    type_in(driver, "f-description", "Stair-lift visits raised on the hotline")
    choose(driver, "f-origin", "hotline")
    press(driver, f"form[action='{w.c}/lists/demands/new']")
    assert urlparse(driver.current_url).path == f"{w.c}/lists", text_of(driver)
    w.check("community", "demand-added")
    rows = {r[0]: r for r in cells(driver, ".table-wrap table")}
    assert NEW_DEMAND in rows, sorted(rows)
    assert rows[NEW_DEMAND][1] == COMMUNITY and rows[NEW_DEMAND][3] == "6", rows[NEW_DEMAND]
    assert driver.find_elements(By.CSS_SELECTOR, "main .alert.ok")


def plan(w: Walk) -> str:
    """2. The planner closes the lists, runs a plan, adopts it, edits it once and
    submits it. Returns the excluded assignment's demand."""
    from selenium.webdriver.common.by import By

    driver = w.person("planner")
    w.open_cycle("planner")
    w.move("planner", "open_planning", "planning")
    w.tab("planner", "/draft")
    driver.find_element(By.CSS_SELECTOR, "details.card > summary").click()  # the run form
    type_in(driver, "f-label", "walkthrough plan")
    press(driver, f"form[action='{w.c}/draft/runs']")
    assert urlparse(driver.current_url).path == f"{w.c}/draft"
    first = driver.find_element(By.CSS_SELECTOR, "#cycle-runs .badge").get_attribute("class")
    assert re.search(r"status-(queued|running)", first or ""), first
    # htmx asks every 2 s; when the run ends the page reloads by itself with the result
    adopt = f"form[action='{w.c}/draft/adopt'] button[type=submit]"
    wait(driver, RUN_WAIT_S).until(lambda d: d.find_elements(By.CSS_SELECTOR, adopt))
    wait(driver).until(lambda d: d.execute_script("return document.readyState") == "complete")
    badge = driver.find_element(By.CSS_SELECTOR, "#cycle-runs .badge").get_attribute("class")
    assert "status-succeeded" in (badge or ""), badge
    w.check("planner", "run-done")
    click(driver, adopt)
    w.check("planner", "adopted")
    assert driver.find_elements(By.CSS_SELECTOR, "#cycle-runs strong"), "no run is the draft"
    # exclude one assignment: its "edit" link fills in the edit form
    link = driver.find_element(By.CSS_SELECTOR, "main td ul.plain a[href$='#edit']")
    href = link.get_attribute("href") or ""
    demand = re.search(r"demand_id=([^&#]+)", href)
    assert demand, href
    click(driver, "main td ul.plain a[href$='#edit']")
    w.check("planner", "edit-form")
    assert driver.find_element(By.ID, "f-demand_id").get_attribute("value") == demand.group(1)
    choose(driver, "f-action", "exclude")
    assert driver.find_elements(By.CSS_SELECTOR, "#edits ~ .table-wrap") == []
    press(driver, f"form[action='{w.c}/draft/edits']")
    w.check("planner", "edited")
    edits = cells(driver, "#edits + .table-wrap table")
    assert len(edits) == 1, edits
    assert demand.group(1) in edits[0][1], edits
    assert int(re.sub(r"\D", "", edits[0][2]) or 0) > 0, f"no hours changed: {edits}"
    w.move("planner", "submit", "discussion")
    return demand.group(1)


def discuss(w: Walk) -> None:
    """3. The community comments on the draft."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver = w.drivers["community"]
    w.tab("community", "/discussion")
    assert phase(driver) == "discussion"
    choose(driver, "f-kind", "support")
    projects = Select(driver.find_element(By.ID, "f-demand_id")).options
    assert len(projects) > 1, "no project of the community to comment on"
    choose(driver, "f-demand_id", projects[1].get_attribute("value") or "")
    type_in(driver, "f-body", "The lane's elders welcome the visits")
    press(driver, f"form[action='{w.c}/discussion/comments']")
    w.check("community", "commented")
    assert "The lane's elders welcome the visits" in text_of(driver, "#comments + .table-wrap")


def review(w: Walk) -> None:
    """4-5. The planner submits to review; the street reviewer returns the list once with
    a reason, the planner sends it again, the street and the district approve."""
    from selenium.webdriver.common.by import By

    w.move("planner", "submit", "street_review")
    driver = w.person("street")
    w.open_cycle("street")
    w.tab("street", "/discussion")
    # returning asks for a reason: the form is not sent without one
    back = "#decide ~ .moves form[action$='/return']"
    driver.find_element(By.CSS_SELECTOR, f"{back} button[type=submit]").click()
    assert phase(driver) == "street_review"
    valid = driver.execute_script("return document.getElementById('return-reason').validity.valid")
    assert valid is False
    type_in(driver, "return-reason", "Name the lead unit of each elderly-care project")
    press(driver, back)
    assert phase(driver) == "planning"
    w.check("street", "returned")
    w.move("planner", "submit", "discussion")
    w.move("planner", "submit", "street_review")
    driver.get(w.base + w.c + "/discussion")  # the reviewer looks again
    w.check("street", "discussion-again")
    reasons = text_of(driver, "#reviews ~ .table-wrap")
    assert "Name the lead unit of each elderly-care project" in reasons
    type_in(driver, "approve-reason", "Lead units named")
    press(driver, "#decide ~ .moves form[action$='/approve']")
    assert phase(driver) == "district_review"
    w.check("street", "approved")
    w.leave("street")
    driver = w.person("district")
    w.open_cycle("district")
    w.tab("district", "/discussion")
    press(driver, "#decide ~ .moves form[action$='/approve']")
    assert phase(driver) == "public_notice"
    w.check("district", "approved")
    w.leave("district")


def object_(w: Walk) -> list[str]:
    """6. A resident reads the notice on a phone and objects. Returns the community's
    projects on the list."""
    from selenium.webdriver.common.by import By

    driver = w.public()
    projects = [
        td.text.split()[0]
        for td in driver.find_elements(By.CSS_SELECTOR, "table.cards tbody td.id")
        if td.text.strip()
    ]
    assert projects, "the community has no project on the notice"
    choose(driver, "demand_id", projects[0])
    type_in(driver, "body", "The lane needs more evening hours")
    type_in(driver, "contact", "138-0000-0000")
    press(driver, "form[action*='/objections/form']")
    w.check("resident", "objected")
    assert driver.find_elements(By.CSS_SELECTOR, "main p.ok"), text_of(driver)
    return projects


def publish(w: Walk) -> None:
    """7. The planner answers the objection, publishes and starts the delivery; the
    resident sees the answer."""
    from selenium.webdriver.common.by import By

    driver = w.drivers["planner"]
    w.tab("planner", "/notice")
    article = driver.find_element(By.CSS_SELECTOR, "article[id^='objection-']")
    assert "The lane needs more evening hours" in article.text
    assert "138-0000-0000" in article.text  # the planner sees the contact
    answer = article.find_element(By.CSS_SELECTOR, "textarea[name=answer]")
    answer.send_keys("Evening hours are added next quarter")
    no = article.find_element(By.CSS_SELECTOR, "input[type=radio][value=no]")
    article.find_element(By.CSS_SELECTOR, f"label[for='{no.get_attribute('id')}']").click()
    assert no.is_selected()
    submitted(driver, article.find_element(By.CSS_SELECTOR, "button[type=submit]").click)
    w.check("planner", "answered")
    article = driver.find_element(By.CSS_SELECTOR, "article[id^='objection-']")
    assert "Evening hours are added next quarter" in article.text
    assert not article.find_elements(By.TAG_NAME, "form")
    press(driver, f"form[action='{w.c}/moves/publish']")
    assert phase(driver) == "published", text_of(driver)
    w.check("planner", "published")
    resident = w.public()
    assert "Evening hours are added next quarter" in text_of(resident)
    assert "138-0000-0000" not in resident.page_source
    w.move("planner", "start_delivery", "delivery")


def deliver(w: Walk, projects: list[str]) -> tuple[str, str]:
    """8. The planner records delivered hours of a cadre on a project of the community;
    the community confirms them. Returns the project and the cadre."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver = w.drivers["planner"]
    w.tab("planner", "/delivery")
    options = Select(driver.find_element(By.ID, "f-assignment")).options
    pick = next(
        o
        for o in options
        if o.text.split(" · ")[0] in projects and " · cadre " in f" · {o.text} · "
    )
    demand, who, _unit, hours = pick.text.split(" · ")
    cadre = who.split()[1]
    left = hours.split("/")[0]
    choose(driver, "f-assignment", pick.get_attribute("value") or "")
    type_in(driver, "f-hours", left)
    press(driver, f"form[action='{w.c}/delivery/record']")
    w.check("planner", "recorded")
    rows = [r for r in cells(driver, "#deliveries ~ .table-wrap table") if demand in r]
    assert len(rows) == 1 and rows[0][5] == left, rows or text_of(driver)
    badge = driver.find_element(By.CSS_SELECTOR, "#deliveries ~ .table-wrap .badge")
    assert "status-pending" in (badge.get_attribute("class") or ""), badge.text
    community = w.drivers["community"]
    w.tab("community", "/delivery")
    confirm = community.find_element(
        By.CSS_SELECTOR, "button[name=only][value$=':approved']"
    ).get_attribute("value")
    click(community, f"button[name=only][value='{confirm}']")
    w.check("community", "confirmed")
    badge = community.find_element(By.CSS_SELECTOR, "#deliveries ~ form .table-wrap .badge")
    assert "status-approved" in (badge.get_attribute("class") or ""), badge.text
    return demand, cadre


def evaluate(w: Walk, demand: str, cadre: str) -> None:
    """9-11. Tokens, the start of the evaluation, a resident's rating, the committee's,
    the close; the ratings, the points and the audit log."""
    from selenium.webdriver.common.by import By

    community = w.drivers["community"]
    w.tab("community", "/evaluation")
    choose(community, "f-community_id", COMMUNITY)
    type_in(community, "f-count", "3")
    press(community, f"form[action='{w.c}/evaluation/tokens']")
    w.check("community", "tokens")
    tokens = [c.text for c in community.find_elements(By.CSS_SELECTOR, "table.tokens code")]
    assert len(tokens) == 3 and all(tokens), tokens
    w.move("planner", "start_evaluation", "evaluation")

    resident = w.public()
    click(resident, f"a[href*='demand={demand}']")
    w.check("resident", "rate-form")
    assert resident.find_element(By.ID, "rate_demand").get_attribute("value") == demand
    type_in(resident, "token", tokens[0])
    choose(resident, "rating", "5")
    type_in(resident, "comment", "Thank you")
    press(resident, "form[action*='/ratings/form']")
    w.check("resident", "rated")
    assert resident.find_elements(By.CSS_SELECTOR, "main p.ok"), text_of(resident)
    w.leave("resident")

    w.tab("community", "/evaluation")  # not a reload: that would issue the tokens again
    choose(community, "f-demand_id", demand)
    choose(community, "f-rating", "4")
    type_in(community, "f-comment", "Delivered as planned")
    press(community, f"form[action='{w.c}/evaluation/ratings']")
    w.check("community", "rated")

    w.move("planner", "close", "closed")
    planner = w.tab("planner", "/evaluation")
    by_project = {r[0]: r for r in cells(planner, "#ratings ~ .table-wrap table") if r}
    assert by_project[demand][1] == "2", by_project  # the resident's and the committee's
    assert by_project[demand][2] in ("4.50", "4.5"), by_project[demand]
    points = {r[0]: r for r in cells(planner, "#points + .table-wrap table")}
    assert cadre in points and float(points[cadre][3].replace(",", "")) > 0, points
    w.tab("planner", "/audit")
    log = cells(planner, "table.audit")
    t = translator("zh" if w.lang == "zh-CN" else "en")
    shown = {r[2] for r in log}
    missing = [a for a in WALKED if t(ACTION_LABELS[a]) not in shown]
    assert missing == [], (missing, shown)
    assert sum(r[2] == t(ACTION_LABELS["submit"]) for r in log) == 4
    assert sum(r[2] == t(ACTION_LABELS["issue_rating_tokens"]) for r in log) == 1


# ---- the test ----------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_a_quarter_clicked_through(demo_server: dict[str, Any], lang: str, tmp_path: Path) -> None:
    started = time.monotonic()
    shots = tmp_path / f"walkthrough-{lang}"
    shots.mkdir()
    print(f"\nscreenshots of the walkthrough ({lang}): {shots}")
    w = Walk(
        base=demo_server["base"],
        cycle=demo_server["cycle"],
        users=demo_server["users"],
        lang=lang,
        tmp=tmp_path,
        shots=shots,
    )
    try:
        collect(w)
        plan(w)
        discuss(w)
        review(w)
        projects = object_(w)
        publish(w)
        demand, cadre = deliver(w, projects)
        evaluate(w, demand, cadre)
    finally:
        w.close()
    print(f"{lang}: {w.step} pages checked in {time.monotonic() - started:.0f} s")
    assert len(list(shots.glob("*.png"))) == w.step
