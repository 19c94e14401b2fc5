"""The ``matcher.commands`` plugin hook of ``matcher``'s command line, and the service's
``serve`` / ``create-key`` commands it loads."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from matcher.cli import commands as cli


class FakeEntryPoint:
    def __init__(self, name: str, target: object) -> None:
        self.name = name
        self._target = target

    def load(self) -> object:
        if isinstance(self._target, Exception):
            raise self._target
        return self._target


def test_installed_plugins_add_serve_and_create_key() -> None:
    parser = cli.build_parser()
    args = parser.parse_args(["serve", "--port", "0"])
    assert args.func.__module__ == "api.cli" and args.port == 0
    args = parser.parse_args(["create-key", "--role", "viewer", "--district", "Gulou"])
    assert args.role == "viewer" and args.district == ["Gulou"]


def test_hook_loads_entry_points_and_skips_a_broken_one(monkeypatch, capsys) -> None:
    def register(subparsers: argparse._SubParsersAction) -> None:
        p = subparsers.add_parser("hello")
        p.set_defaults(func=lambda args: 7)

    def fake(group: str):
        assert group == cli.PLUGIN_GROUP
        return [FakeEntryPoint("hello", register), FakeEntryPoint("broken", ImportError("no x"))]

    monkeypatch.setattr("importlib.metadata.entry_points", fake)
    assert cli.main(["hello"]) == 7
    assert "command plugin 'broken' not loaded: no x" in capsys.readouterr().err
    assert cli.main(["validate", "tests/data/example/dataset"]) == 0


def test_create_key_stores_only_a_hash(tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    assert (
        cli.main(["create-key", "--role", "admin", "--name", "first", "--database-url", url]) == 0
    )
    out = capsys.readouterr()
    token = out.out.strip()
    assert token.startswith("mk_") and len(token) > 40
    assert "shown only now" in out.err
    engine = create_engine(url)
    with engine.connect() as conn:
        row = conn.execute(text("select role, key_hash, name from api_keys")).one()
    engine.dispose()
    import hashlib

    assert row.role == "admin" and row.name == "first"
    assert row.key_hash == hashlib.sha256(token.encode()).hexdigest()


def test_create_key_refuses_an_unknown_role() -> None:
    with pytest.raises(SystemExit):
        cli.main(["create-key", "--role", "root"])


def test_settings_come_from_the_environment(monkeypatch) -> None:
    from api.settings import Settings

    monkeypatch.setenv("DATABASE_URL", "sqlite:///x.db")
    monkeypatch.setenv("MATCHER_MAX_CONCURRENT_RUNS", "3")
    monkeypatch.setenv("MATCHER_RUN_TIME_LIMIT_S", "12.5")
    monkeypatch.setenv("MATCHER_MAX_BODY_BYTES", "2048")
    s = Settings()
    assert (s.database_url, s.max_concurrent_runs, s.run_time_limit_s, s.max_body_bytes) == (
        "sqlite:///x.db",
        3,
        12.5,
        2048,
    )
    assert Settings(max_concurrent_runs=2).max_concurrent_runs == 2
    for name, field in Settings.model_fields.items():
        assert field.description, f"setting {name} is undocumented"
