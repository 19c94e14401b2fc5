"""Signing in and out: sessions, locks, the form token, the language switch."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from conftest import MATCHER_BIN
from console_kit import PASSWORD, ConsoleKit, add_users
from sqlalchemy.orm import Session


def test_sign_in_and_home(console: ConsoleKit) -> None:
    b = console.browser()
    r = b.get("/console/")
    assert r.url.path == "/console/sign-in"
    r = b.post(
        "/console/sign-in", {"username": "planner", "password": PASSWORD, "next": "/console/cycles"}
    )
    assert r.status_code == 303 and r.headers["location"] == "/console/cycles"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=43200" in cookie
    r = b.get("/console/")
    assert r.status_code == 200 and "Gulou planner" in r.text


def test_wrong_password_and_lock(console: ConsoleKit) -> None:
    b = console.browser()
    for _ in range(9):
        r = b.post("/console/sign-in", {"username": "unit", "password": "not-the-password"})
        assert r.status_code == 401
    r = b.post("/console/sign-in", {"username": "unit", "password": "not-the-password"})
    assert r.status_code == 423
    # locked: even the right password is refused
    r = b.post("/console/sign-in", {"username": "unit", "password": PASSWORD})
    assert r.status_code == 423


def test_sign_out_ends_every_session(console: ConsoleKit) -> None:
    one, two = console.browser("community"), console.browser("community")
    assert one.get("/console/").url.path == "/console/"
    r = one.post("/console/sign-out")
    assert r.status_code == 303
    # the other browser's session ended too
    assert two.get("/console/").url.path == "/console/sign-in"
    assert one.get("/console/").url.path == "/console/sign-in"


def test_form_without_token_is_refused(console: ConsoleKit) -> None:
    b = console.browser()
    r = b.post("/console/sign-in", {"username": "admin", "password": PASSWORD}, token=False)
    assert r.status_code == 403
    r = b.post(
        "/console/sign-in",
        {"username": "admin", "password": PASSWORD, "csrf_token": "0" * 64},
    )
    assert r.status_code == 403


def test_next_never_leaves_the_console(console: ConsoleKit) -> None:
    b = console.browser()
    r = b.post(
        "/console/sign-in",
        {"username": "admin", "password": PASSWORD, "next": "//evil.example/x"},
    )
    assert r.status_code == 303 and r.headers["location"] == "/console/"


def test_language_switch_is_remembered(console: ConsoleKit) -> None:
    b = console.browser("admin")
    assert 'lang="zh-CN"' in b.get("/console/cycles").text
    r = b.get("/console/lang/en?next=/console/cycles")
    assert r.url.path == "/console/cycles" and '<html lang="en">' in r.text
    assert '<html lang="en">' in b.get("/console/").text


def test_sessions_and_locks_on_each_store(each_console: ConsoleKit) -> None:
    """The wrong passwords' count, the lock and the end of sessions are kept in the
    store (SQLite and PostgreSQL alike), though the sign-in page says no."""
    b = each_console.browser()
    for _ in range(3):
        assert (
            b.post("/console/sign-in", {"username": "planner", "password": "x" * 12}).status_code
            == 401
        )
    from api.console.accounts import find_user
    from api.db.session import session_scope

    app = each_console.svc.client.app
    with session_scope(app.state.sessionmaker) as session:
        user = find_user(session, "planner")
        assert user is not None and user.failed_sign_ins == 3
    one = each_console.browser("planner")
    assert one.get("/console/cycles").status_code == 200
    assert one.post("/console/sign-out").status_code == 303
    assert one.get("/console/cycles").url.path == "/console/sign-in"


def test_sign_in_attempts_are_limited_per_address(
    sqlite_url: str, service_factory: Callable[..., AbstractContextManager[Any]]
) -> None:
    with service_factory(
        sqlite_url, rate_limits=True, rate_limit_sign_in="3/minute", password_memory_kib=8192
    ) as svc:
        add_users(svc)
        kit = ConsoleKit(svc)
        b = kit.browser()
        for _ in range(3):
            r = b.post("/console/sign-in", {"username": "unit", "password": "x" * 12})
            assert r.status_code == 401
        # the fourth, even with the right password, waits (and says how long)
        r = b.post("/console/sign-in", {"username": "unit", "password": PASSWORD})
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        assert "unit" in r.text  # the user name typed is kept


def test_create_user_command_makes_the_first_admin(tmp_path: Path) -> None:
    """``matcher create-user`` (the password from stdin), then a sign-in with it; a
    second user of the same name is refused with exit 2; ``--reset`` gives a new one."""
    url = f"sqlite:///{tmp_path / 'users.db'}"

    def run(*args: str, password: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [MATCHER_BIN, "create-user", *args, "--password-stdin", "--database-url", url],
            input=password + "\n",
            capture_output=True,
            text=True,
            timeout=120,
        )

    made = run("li.ming", "--role", "admin", "--display-name", "李明", password="first password!")
    assert made.returncode == 0, made.stderr
    again = run("li.ming", password="another password")
    assert again.returncode == 2 and "taken" in again.stderr
    short = run("wang", password="short")
    assert short.returncode == 2 and "at least 10" in short.stderr
    assert run("li.ming", "--reset", password="second password!").returncode == 0
    from api.console.accounts import Passwords, authenticate
    from api.db.session import make_engine

    engine = make_engine(url)
    with Session(engine) as session:
        for password, refusal in (("first password!", "wrong"), ("second password!", None)):
            out = authenticate(session, Passwords(), "li.ming", password, lock_after=10, lock_s=1)
            assert out.refusal == refusal
    engine.dispose()
