"""Users and API keys (administrators only): the list, a new user, a reset password, a
lock lifted, a user disabled and enabled, a role changed, a key created and revoked,
each in the audit log without a password or a key."""

from __future__ import annotations

import re
from typing import Any

from console_kit import PASSWORD, ConsoleKit

from api.db.models import ApiKey, AuditEntry, User
from api.db.session import session_scope

NEW_PASSWORD = "another-password-123"


def _rows(kit: ConsoleKit, model: Any) -> list[Any]:
    with session_scope(kit.svc.client.app.state.sessionmaker) as session:
        rows = list(session.query(model).order_by(model.id))
        session.expunge_all()
        return rows


def _user_id(kit: ConsoleKit, name: str) -> int:
    return next(u.id for u in _rows(kit, User) if u.username == name)


def _new_user(kit: ConsoleKit, **changes: str) -> Any:
    form = {
        "username": "lin.wei",
        "display_name": "Lin Wei",
        "role": "community",
        "districts": "Gulou",
        "communities": "C-JUNMEN, C-GL-07",
        "password": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
        **changes,
    }
    return kit.as_("admin").post("/console/users", form)


def unique_ids(html: str) -> bool:
    """Whether no id repeats on a page."""
    ids = re.findall(r'\sid="([^"]+)"', html)
    return len(ids) == len(set(ids))


def test_only_admins_see_the_page(console: ConsoleKit) -> None:
    r = console.as_("admin").get("/console/users")
    assert r.status_code == 200 and unique_ids(r.text)
    detail = console.as_("admin").get(f"/console/users/{_user_id(console, 'unit')}")
    assert detail.status_code == 200 and unique_ids(detail.text)
    assert detail.text.count("<h1") == 1
    for name in ("planner", "community", "street_reviewer", "cangshan"):
        assert name in r.text
    assert 'scope="col"' in r.text and "<caption" in r.text
    for role in ("planner", "community", "cangshan"):
        r = console.as_(role).get("/console/users")
        assert r.status_code == 403, role
        assert (
            console.as_(role).get(f"/console/users/{_user_id(console, 'admin')}").status_code == 403
        )
    # and may post nothing either
    r = console.as_("planner").post("/console/users", {"username": "x"})
    assert r.status_code == 403


def test_create_a_user_and_sign_in(console: ConsoleKit) -> None:
    r = _new_user(console)
    assert r.status_code == 303, r.text
    assert re.fullmatch(r"/console/users/\d+\?done=created", r.headers["location"])
    page = console.as_("admin").get(r.headers["location"])
    assert page.status_code == 200 and "Lin Wei" in page.text and "C-GL-07" in page.text
    user = next(u for u in _rows(console, User) if u.username == "lin.wei")
    assert user.role == "community" and user.communities == ["C-GL-07", "C-JUNMEN"]
    assert user.districts == ["Gulou"] and user.streets is None
    b = console.browser()
    r = b.post("/console/sign-in", {"username": "lin.wei", "password": NEW_PASSWORD})
    assert r.status_code == 303
    entry = [e for e in _rows(console, AuditEntry) if e.action == "create_user"][-1]
    assert entry.cycle_id is None and entry.visibility == "private"
    assert entry.target == "user lin.wei" and entry.user_id == _user_id(console, "admin")
    assert NEW_PASSWORD not in repr(entry.after) and "password" not in repr(entry.after)


def test_a_refused_user_keeps_what_was_typed(console: ConsoleKit) -> None:
    r = _new_user(console, password2="something-else-1")
    assert r.status_code == 422
    assert 'value="lin.wei"' in r.text and 'value="C-JUNMEN, C-GL-07"' in r.text
    assert NEW_PASSWORD not in r.text  # passwords are never sent back
    assert 'id="password2-error"' in r.text
    r = _new_user(console, password="short", password2="short")
    assert r.status_code == 422 and "10" in r.text and 'value="Lin Wei"' in r.text
    r = _new_user(console, username="planner")
    assert r.status_code == 422 and "planner" in r.text
    r = _new_user(console, username="<script>alert(1)</script>")
    assert r.status_code == 422
    assert "&lt;script&gt;" in r.text and "<script>alert(1)</script>" not in r.text
    assert not any(u.username == "lin.wei" for u in _rows(console, User))


def test_a_display_name_is_shown_escaped(console: ConsoleKit) -> None:
    r = _new_user(console, display_name="<script>alert(1)</script>")
    assert r.status_code == 303
    for url in ("/console/users", r.headers["location"]):
        page = console.as_("admin").get(url)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
        assert "<script>alert(1)</script>" not in page.text


def test_reset_password_ends_sessions(console: ConsoleKit) -> None:
    victim = console.as_("community")
    assert victim.get("/console/").url.path == "/console/"
    uid = _user_id(console, "community")
    admin = console.as_("admin")
    admin.get(f"/console/users/{uid}")
    r = admin.post(
        f"/console/users/{uid}/password", {"password": NEW_PASSWORD, "password2": "different-1"}
    )
    assert r.status_code == 422 and 'id="password2-error"' in r.text
    r = admin.post(f"/console/users/{uid}/password", {"password": "x", "password2": "x"})
    assert r.status_code == 422 and 'id="password-error"' in r.text
    assert victim.get("/console/").url.path == "/console/"  # nothing changed yet
    r = admin.post(
        f"/console/users/{uid}/password", {"password": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert r.status_code == 303 and r.headers["location"].endswith("done=password")
    assert victim.get("/console/").url.path == "/console/sign-in"
    b = console.browser()
    assert (
        b.post("/console/sign-in", {"username": "community", "password": PASSWORD}).status_code
        == 401
    )
    assert (
        b.post("/console/sign-in", {"username": "community", "password": NEW_PASSWORD}).status_code
        == 303
    )
    entries = [e for e in _rows(console, AuditEntry) if e.action == "reset_password"]
    assert len(entries) == 1 and NEW_PASSWORD not in repr(entries[0].__dict__)


def test_unlock(console: ConsoleKit) -> None:
    b = console.browser()
    for _ in range(10):
        r = b.post("/console/sign-in", {"username": "unit", "password": "not-the-password"})
    assert r.status_code == 423
    uid = _user_id(console, "unit")
    admin = console.as_("admin")
    assert (
        "Locked" in admin.get("/console/users").text or "锁定" in admin.get("/console/users").text
    )
    page = admin.get(f"/console/users/{uid}")
    assert f"/console/users/{uid}/unlock" in page.text
    r = admin.post(f"/console/users/{uid}/unlock")
    assert r.status_code == 303
    assert b.post("/console/sign-in", {"username": "unit", "password": PASSWORD}).status_code == 303
    assert any(e.action == "unlock_user" for e in _rows(console, AuditEntry))


def test_disable_and_enable(console: ConsoleKit) -> None:
    victim = console.as_("unit")
    assert victim.get("/console/").url.path == "/console/"
    uid = _user_id(console, "unit")
    admin = console.as_("admin")
    r = admin.post(f"/console/users/{uid}/disable")
    assert r.status_code == 303
    assert victim.get("/console/").url.path == "/console/sign-in"
    b = console.browser()
    assert b.post("/console/sign-in", {"username": "unit", "password": PASSWORD}).status_code == 403
    page = admin.get(f"/console/users/{uid}")
    assert f"/console/users/{uid}/enable" in page.text
    assert admin.post(f"/console/users/{uid}/enable").status_code == 303
    assert b.post("/console/sign-in", {"username": "unit", "password": PASSWORD}).status_code == 303
    actions = [e.action for e in _rows(console, AuditEntry)]
    assert "disable_user" in actions and "enable_user" in actions
    # an admin cannot disable themselves
    me = _user_id(console, "admin")
    r = admin.post(f"/console/users/{me}/disable")
    assert r.status_code == 409
    assert admin.get("/console/users").status_code == 200


def test_change_role_and_scope(console: ConsoleKit) -> None:
    uid = _user_id(console, "street_reviewer")
    admin = console.as_("admin")
    page = admin.get(f"/console/users/{uid}")
    assert 'value="Gulou"' in page.text
    r = admin.post(
        f"/console/users/{uid}/role",
        {"role": "nobody", "districts": "Gulou", "streets": "S-1", "communities": "", "units": ""},
    )
    assert r.status_code == 422 and 'value="S-1"' in r.text
    r = admin.post(
        f"/console/users/{uid}/role",
        {"role": "district_reviewer", "districts": "Gulou, Taijiang", "streets": ""},
    )
    assert r.status_code == 303
    user = next(u for u in _rows(console, User) if u.id == uid)
    assert user.role == "district_reviewer" and user.districts == ["Gulou", "Taijiang"]
    entry = [e for e in _rows(console, AuditEntry) if e.action == "change_user_role"][-1]
    assert entry.before["role"] == "street_reviewer" and entry.after["role"] == "district_reviewer"
    me = _user_id(console, "admin")
    r = admin.post(f"/console/users/{me}/role", {"role": "community"})
    assert r.status_code == 409


def test_keys_create_and_revoke(console: ConsoleKit) -> None:
    admin = console.as_("admin")
    admin.get("/console/users")
    r = admin.post(
        "/console/users/keys",
        {"key_name": "<script>alert(1)</script>", "key_role": "nobody", "key_districts": "Gulou"},
    )
    assert r.status_code == 422 and 'value="Gulou"' in r.text
    assert "<script>alert(1)</script>" not in r.text and "&lt;script&gt;" in r.text
    r = admin.post(
        "/console/users/keys",
        {
            "key_name": "hotline bridge",
            "key_role": "community",
            "key_districts": "Gulou",
            "key_communities": "C-JUNMEN",
        },
    )
    assert r.status_code == 200, r.text
    token = re.search(r'id="new-key" type="text" readonly value="(mk_[^"]+)"', r.text)
    assert token is not None
    headers = {"X-API-Key": token.group(1)}
    assert console.svc.client.get("/cycles", headers=headers).status_code == 200
    key = next(k for k in _rows(console, ApiKey) if k.name == "hotline bridge")
    assert key.communities == ["C-JUNMEN"]
    listed = admin.get("/console/users")
    assert "hotline bridge" in listed.text and token.group(1) not in listed.text
    r = admin.post(f"/console/users/keys/{key.id}/revoke")
    assert r.status_code == 303
    assert console.svc.client.get("/cycles", headers=headers).status_code == 401
    assert admin.post("/console/users/keys/999999/revoke").status_code == 404
    entries = [e for e in _rows(console, AuditEntry) if e.action in ("create_key", "revoke_key")]
    assert [e.action for e in entries] == ["create_key", "revoke_key"]
    assert all(token.group(1) not in repr((e.target, e.before, e.after)) for e in entries)


def test_forms_without_token_are_refused(console: ConsoleKit) -> None:
    admin = console.as_("admin")
    uid = _user_id(console, "unit")
    for url in (
        "/console/users",
        f"/console/users/{uid}/disable",
        f"/console/users/{uid}/password",
        "/console/users/keys",
    ):
        assert admin.post(url, {}, token=False).status_code == 403, url
    unit = next(u for u in _rows(console, User) if u.id == uid)
    assert unit.disabled_at is None and not any(u.username == "" for u in _rows(console, User))
    assert _rows(console, ApiKey)[-1].name != ""  # no key was made (the test keys have names)
