"""Users and passwords (api/console/accounts.py): Argon2id within bounds, the lock,
sessions ended by a new password."""

from __future__ import annotations

import datetime as dt

import argon2
import pytest
from sqlalchemy.orm import Session

from api.console import accounts
from api.console.accounts import Passwords
from api.db.models import Base, User
from api.db.session import make_engine

PW = Passwords(memory_kib=8 * 1024, at_once=1)


@pytest.fixture
def session(tmp_path) -> Session:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'users.db'}")
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        yield s  # type: ignore[misc]
    engine.dispose()


def test_hash_is_argon2id_with_the_bounded_parameters() -> None:
    stored = PW.hash("a long enough password")
    params = argon2.extract_parameters(stored)
    assert params.type is argon2.Type.ID
    assert (params.memory_cost, params.time_cost, params.parallelism) == (8 * 1024, 2, 1)
    assert "a long enough password" not in stored


def test_a_stored_hash_asking_for_too_much_memory_is_not_verified() -> None:
    greedy = argon2.PasswordHasher(memory_cost=300 * 1024, time_cost=1, parallelism=1)
    # made cheaply by hand: the parameters are in the text, the check reads them first
    stored = PW.hash("secret password!").replace("m=8192", f"m={greedy.memory_cost}")
    assert PW.verify(stored, "secret password!") is False
    assert PW.verify("not a hash", "secret password!") is False


@pytest.mark.parametrize(
    ("password", "refused"),
    [("short", True), ("x" * 257, True), ("planner-one", True), ("a good password", False)],
)
def test_password_rules(password: str, refused: bool) -> None:
    assert (accounts.check_password(password, "planner-one") is not None) is refused


def test_create_user_refuses_bad_names_roles_and_duplicates(session: Session) -> None:
    accounts.create_user(session, PW, "li.ming", "a good password", "planner")
    for name, role in (
        ("x", "planner"),
        ("<b>", "planner"),
        ("ok-name", "public"),
        ("li.ming", "unit"),
    ):
        with pytest.raises(ValueError):
            accounts.create_user(session, PW, name, "a good password", role)


def test_ten_wrong_passwords_lock_the_account(session: Session) -> None:
    accounts.create_user(session, PW, "wang", "the right password", "unit")
    now = dt.datetime(2026, 12, 6, 12, 0)
    for i in range(9):
        out = accounts.authenticate(
            session, PW, "wang", "wrong", lock_after=10, lock_s=900, now=now
        )
        assert out.refusal == "wrong", i
    out = accounts.authenticate(session, PW, "wang", "wrong", lock_after=10, lock_s=900, now=now)
    assert out.refusal == "locked" and out.locked_until == now + dt.timedelta(seconds=900)
    # the right password is refused while locked, and accepted after
    later = now + dt.timedelta(seconds=899)
    assert (
        accounts.authenticate(
            session, PW, "wang", "the right password", lock_after=10, lock_s=900, now=later
        ).refusal
        == "locked"
    )
    after = now + dt.timedelta(seconds=901)
    out = accounts.authenticate(
        session, PW, "wang", "the right password", lock_after=10, lock_s=900, now=after
    )
    assert out.user is not None and out.user.failed_sign_ins == 0


def test_unknown_user_and_disabled_user(session: Session) -> None:
    user = accounts.create_user(session, PW, "zhao", "the right password", "community")
    assert (
        accounts.authenticate(session, PW, "nobody", "x", lock_after=10, lock_s=1).refusal
        == "wrong"
    )
    user.disabled_at = dt.datetime(2026, 1, 1)
    assert (
        accounts.authenticate(
            session, PW, "zhao", "the right password", lock_after=10, lock_s=1
        ).refusal
        == "disabled"
    )


def test_new_password_ends_sessions_and_old_hashes_are_rehashed(session: Session) -> None:
    user = accounts.create_user(session, PW, "sun", "the right password", "planner")
    version = user.session_version
    accounts.set_password(session, PW, user, "another good password")
    assert user.session_version == version + 1
    # a hash made with other parameters is replaced at the next sign-in
    user.password_hash = argon2.PasswordHasher(memory_cost=9 * 1024, time_cost=1).hash(
        "another good password"
    )
    accounts.authenticate(session, PW, "sun", "another good password", lock_after=10, lock_s=1)
    assert argon2.extract_parameters(user.password_hash).memory_cost == 8 * 1024


def test_actor_of_a_user_carries_role_scope_and_user() -> None:
    user = User(id=7, username="c", role="community", districts=["Gulou"], communities=["C-1"])
    actor = accounts.actor_of(user)
    assert (actor.role, actor.key_id, actor.user_id) == ("community", None, 7)
    assert actor.districts == ("Gulou",) and actor.communities == ("C-1",)


def test_every_action_has_its_page() -> None:
    from api.console.waiting import ACTION_PAGES
    from matcher.cycle.roles import ACTIONS

    assert set(ACTION_PAGES) == set(ACTIONS)
