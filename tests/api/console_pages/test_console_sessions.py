"""Session cookies and form tokens (api/console/sessions.py, csrf.py), pages' helpers."""

from __future__ import annotations

import datetime as dt
import time

from api.console.csrf import Csrf
from api.console.pages import Formats, safe_next
from api.console.sessions import Sessions


def test_cookie_holds_only_the_user_and_version_signed() -> None:
    s = Sessions("s" * 32, max_age_s=60)
    value = s.value(12, 3)
    assert s.read(value) == (12, 3)
    assert Sessions("t" * 32, max_age_s=60).read(value) is None  # another key
    # The signature's first character: all six of its bits are signed (the last
    # character's low bits are base64 padding, so changing only those changes nothing).
    at = value.rindex(".") + 1
    forged = value[:at] + ("A" if value[at] != "A" else "B") + value[at + 1 :]
    assert s.read(forged) is None
    payload = ("x" if value[0] != "x" else "y") + value[1:]  # the data itself altered
    assert s.read(payload) is None
    assert s.read("") is None and s.read("x" * 600) is None


def test_cookie_expires() -> None:
    s = Sessions("s" * 32, max_age_s=1)
    value = s.value(1, 1)
    time.sleep(2.1)
    assert s.read(value) is None


def test_form_token_is_bound_to_the_cookie_and_the_secret() -> None:
    c = Csrf("k" * 32)
    cookie = "a" * 43
    assert c.valid(cookie, c.token(cookie))
    assert not c.valid("b" * 43, c.token(cookie))
    assert not Csrf("j" * 32).valid(cookie, c.token(cookie))
    assert not c.valid(None, c.token(cookie)) and not c.valid(cookie, None)
    assert not c.valid("short", c.token("short"))


def test_next_stays_in_the_console() -> None:
    assert safe_next("/console/cycles?x=1") == "/console/cycles?x=1"
    for bad in ("//evil.example", "https://evil.example/console", "/docs", "/console\\x", None):
        assert safe_next(bad) == "/console/"


def test_formats_follow_the_locale_and_zone() -> None:
    zh, en = Formats("zh", "Asia/Shanghai"), Formats("en", "Asia/Shanghai")
    utc = dt.datetime(2026, 12, 31, 18, 5)
    assert zh.when(utc) == "2027年1月1日 02:05"
    assert en.when(utc) == "Jan 1, 2027 02:05"
    assert en.number(1234567.891, 2) == "1,234,567.89"
    assert zh.percent(0.1234) == "12.3%"
    assert zh.when(None) == "" and en.day("2026-10-01") == "Oct 1, 2026"
