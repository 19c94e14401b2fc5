"""``matcher serve`` and ``matcher create-key``, registered as ``matcher.commands`` plugins.

This module imports nothing heavy at import time, so ``matcher plan`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["register_create_key", "register_create_user", "register_serve"]


def _settings(args: argparse.Namespace, **extra: Any) -> Any:
    from api.settings import Settings

    overrides = {k: v for k, v in extra.items() if v is not None}
    if getattr(args, "database_url", None):
        overrides["database_url"] = args.database_url
    return Settings(**overrides)


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the service with uvicorn (one process; solves run in worker processes)."""
    import uvicorn

    from api.main import create_app

    settings = _settings(
        args, host=args.host, port=args.port, max_concurrent_runs=args.max_concurrent_runs
    )
    if args.demo:
        _seed_demo(settings)
    app = create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level)
    return 0


def _seed_demo(settings: Any) -> None:
    """Seed the demo and print how to sign in (``matcher serve --demo``)."""
    from api.db.session import make_engine, make_sessionmaker, migrate, session_scope
    from api.demo import seed_demo

    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
        with session_scope(make_sessionmaker(engine)) as session:
            users = seed_demo(session, settings)
    finally:
        engine.dispose()
    base = f"http://{settings.host}:{settings.port}"
    print(f"\nThe console: {base}/console/  (users and passwords of this start)", file=sys.stderr)
    for user in users:
        print(f"  {user.username:<10} {user.password:<14} {user.role}", file=sys.stderr)
    print(file=sys.stderr)


def cmd_create_key(args: argparse.Namespace) -> int:
    """Create an API key in the store and print it (shown this once)."""
    from api.db.session import make_engine, make_sessionmaker, migrate, session_scope
    from api.security import check_districts, create_key

    check_districts(args.district)  # refused (exit 2) before the store is touched
    settings = _settings(args)
    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
        with session_scope(make_sessionmaker(engine)) as session:
            # None (no --district) is every district; an empty name is refused there.
            row, token = create_key(session, args.role, args.name, args.district)
            key_id = row.id
    finally:
        engine.dispose()
    scope = ", ".join(args.district) if args.district else "all districts"
    print(f"created {args.role} key {key_id} ({scope}); it is shown only now:", file=sys.stderr)
    print(token)
    return 0


def register_serve(subparsers: Any) -> None:
    """Add ``matcher serve`` to the command line."""
    p = subparsers.add_parser("serve", help="run the planner service (HTTP API)")
    p.add_argument("--host", help="address to listen on (MATCHER_HOST, default 127.0.0.1)")
    p.add_argument("--port", type=int, help="TCP port (MATCHER_PORT, default 8000)")
    p.add_argument("--database-url", help="SQLAlchemy URL of the store (DATABASE_URL)")
    p.add_argument(
        "--max-concurrent-runs", type=int, help="solves at once (MATCHER_MAX_CONCURRENT_RUNS)"
    )
    p.add_argument(
        "--demo",
        action="store_true",
        help="seed the demo city, a Gulou cycle and a user per role (new passwords printed)",
    )
    p.set_defaults(func=cmd_serve)


def register_create_key(subparsers: Any) -> None:
    """Add ``matcher create-key`` to the command line."""
    p = subparsers.add_parser("create-key", help="create an API key for the planner service")
    p.add_argument("--role", required=True, choices=("viewer", "planner", "admin"))
    p.add_argument("--name", default="", help="a label for the key")
    p.add_argument(
        "--district",
        action="append",
        help="limit reads to this district's results (repeatable); default all",
    )
    p.add_argument("--database-url", help="SQLAlchemy URL of the store (DATABASE_URL)")
    p.set_defaults(func=cmd_create_key)


def _read_password(args: argparse.Namespace) -> str:
    """The password from stdin (``--password-stdin``: one line), else asked twice on
    the terminal without echo."""
    import getpass

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise SystemExit("matcher create-user: the two passwords differ")
    return first


def cmd_create_user(args: argparse.Namespace) -> int:
    """Create a console user (or, with ``--reset``, give one a new password, end their
    sessions and lift a lock)."""
    from api.console.accounts import Passwords, create_user, find_user, set_password, unlock
    from api.db.session import make_engine, make_sessionmaker, migrate, session_scope
    from matcher.i18n import Text

    settings = _settings(args)
    password = _read_password(args)
    passwords = Passwords(settings.password_memory_kib, settings.password_hashes_at_once)
    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
        with session_scope(make_sessionmaker(engine)) as session:
            if args.reset:
                user = find_user(session, args.username)
                if user is None:
                    print(f"matcher create-user: no user {args.username!r}", file=sys.stderr)
                    return 2
                set_password(session, passwords, user, password)
                unlock(user)
                user.disabled_at = None
                done = "reset"
            else:
                user = create_user(
                    session,
                    passwords,
                    args.username,
                    password,
                    args.role,
                    display_name=args.display_name,
                    districts=args.district,
                    streets=args.street,
                    communities=args.community,
                    units=args.unit,
                )
                done = f"created {user.role}"
    except ValueError as exc:
        message = exc.args[0] if exc.args else exc
        text = message.render("en") if isinstance(message, Text) else str(message)
        print(f"matcher create-user: {text}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(f"{done} user {args.username!r}; sign in at /console/sign-in", file=sys.stderr)
    return 0


def register_create_user(subparsers: Any) -> None:
    """Add ``matcher create-user`` to the command line."""
    from api.console.accounts import USER_ROLES

    p = subparsers.add_parser(
        "create-user",
        help="create a user of the console (the first admin, say), or reset a password",
    )
    p.add_argument("username", help="the name to sign in with")
    p.add_argument("--role", choices=USER_ROLES, default="admin")
    p.add_argument("--display-name", default="", help="the name pages show")
    for flag, what in (
        ("--district", "a district the user works in (repeatable); default all"),
        ("--street", "a street of a street reviewer (repeatable)"),
        ("--community", "a community a community user acts for (repeatable)"),
        ("--unit", "a unit a unit user acts for (repeatable)"),
    ):
        p.add_argument(flag, action="append", help=what)
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of stdin (scripts); else asked twice",
    )
    p.add_argument(
        "--reset",
        action="store_true",
        help="give an existing user this password, end their sessions and unlock them",
    )
    p.add_argument("--database-url", help="SQLAlchemy URL of the store (DATABASE_URL)")
    p.set_defaults(func=cmd_create_user)
