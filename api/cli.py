"""``matcher serve`` and ``matcher create-key``, registered as ``matcher.commands`` plugins.

This module imports nothing heavy at import time, so ``matcher plan`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["register_create_key", "register_serve"]


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
    app = create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level)
    return 0


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
