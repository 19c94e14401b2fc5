"""``matcher serve --demo``: the console on the demo city, ready to click through.

Seeds the store (idempotently) with the demo dataset (``datasets/fuzhou-demo``), a
Gulou cycle collecting its lists, and a user for each role of the cycle, each with a
new random password printed when the server starts (and kept in the store only as its
Argon2 hash). Meant for one's own machine: the server still listens on 127.0.0.1 only
unless told otherwise.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

import matcher
from api.console.accounts import Passwords, create_user, find_user, set_password, unlock
from api.cycles import core
from api.cycles.access import Actor
from api.db.models import Cycle, DatasetRow
from api.settings import Settings
from api.store import save_dataset

__all__ = ["DEMO_DATASET", "DEMO_USERS", "DemoUser", "seed_demo"]

DEMO_DATASET = Path(__file__).resolve().parent.parent / "datasets" / "fuzhou-demo"
"""The demo city's lists."""

DEMO_DISTRICT = "Gulou"


@dataclass(frozen=True)
class DemoUser:
    """A demo user: name, role, scope, and the password of this start."""

    username: str
    role: str
    display_name: str
    communities: tuple[str, ...] | None = None
    units: tuple[str, ...] | None = None
    password: str = ""


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("admin", "admin", "管理员"),
    DemoUser("planner", "planner", "鼓楼区规划人员"),
    DemoUser("community", "community", "军门社区书记", communities=("C-JUNMEN",)),
    DemoUser("unit", "unit", "市民政局联络员", units=("U-MCA",)),
    DemoUser("street", "street_reviewer", "东街街道党工委"),
    DemoUser("district", "district_reviewer", "鼓楼区委组织部"),
)
"""One user per role of the cycle (the admin sees every district; the others Gulou)."""


def quarter_of(day: dt.date) -> str:
    """The quarter a day lies in (``2026-Q4``)."""
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def seed_demo(session: Session, settings: Settings) -> list[DemoUser]:
    """Seed the demo (what is there already is kept) and give every demo user a new
    random password; returns the users with their passwords."""
    dataset = matcher.load_dataset(DEMO_DATASET)
    row = session.execute(
        select(DatasetRow).where(DatasetRow.content_hash == dataset.content_hash)
    ).scalar_one_or_none()
    if row is None:
        row = save_dataset(session, dataset, uuid.uuid4().hex, "Fuzhou demo")
    if session.execute(select(Cycle.id).where(Cycle.district == DEMO_DISTRICT)).first() is None:
        core.create_cycle(
            session,
            Actor("planner"),
            district=DEMO_DISTRICT,
            period=quarter_of(dt.date.today()),
            dataset_id=row.id,
        )
    passwords = Passwords(settings.password_memory_kib, settings.password_hashes_at_once)
    out = []
    for demo in DEMO_USERS:
        password = secrets.token_urlsafe(9)
        user = find_user(session, demo.username)
        if user is None:
            create_user(
                session,
                passwords,
                demo.username,
                password,
                demo.role,
                display_name=demo.display_name,
                districts=None if demo.role == "admin" else [DEMO_DISTRICT],
                communities=list(demo.communities) if demo.communities else None,
                units=list(demo.units) if demo.units else None,
            )
        else:
            set_password(session, passwords, user, password)
            unlock(user)
        out.append(DemoUser(**{**demo.__dict__, "password": password}))
    return out
