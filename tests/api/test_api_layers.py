"""The service's layers: route handlers hold no SQL (issue 20).

Every module of ``api/routes/`` is parsed; queries belong in :mod:`api.crud` (or
another service module such as :mod:`api.store`), which the routes call. A route
module may import ``Session`` from ``sqlalchemy.orm`` for type hints, nothing else
from SQLAlchemy.
"""

from __future__ import annotations

import ast
from pathlib import Path

import api.routes

ROUTES = Path(api.routes.__file__).parent
# Imports of SQLAlchemy a route module may hold: names for type hints only.
ALLOWED_IMPORTS = {("sqlalchemy.orm", "Session")}
# Calls that build or run SQL: bare calls of SQLAlchemy's statement constructors, and
# methods of a session or a result.
STATEMENTS = {"select", "delete", "update", "insert"}
METHODS = {"execute", "scalars", "scalar", "query"}


def sql_in(tree: ast.AST) -> list[tuple[int, str]]:
    """Lines of ``tree`` that import SQLAlchemy or build or run SQL, with what they do."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "sqlalchemy":
                    found.append((node.lineno, f"import {alias.name}"))
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if module.split(".")[0] == "sqlalchemy":
                for alias in node.names:
                    if (module, alias.name) not in ALLOWED_IMPORTS:
                        found.append((node.lineno, f"from {module} import {alias.name}"))
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in STATEMENTS:
                found.append((node.lineno, f"{func.id}(...)"))
            elif isinstance(func, ast.Attribute) and func.attr in METHODS:
                found.append((node.lineno, f".{func.attr}(...)"))
    return sorted(found)


def test_route_modules_hold_no_sql() -> None:
    modules = sorted(ROUTES.glob("*.py"))
    assert len(modules) > 5  # the routes were found
    offences = [
        f"api/routes/{path.name}:{line}: {what}"
        for path in modules
        for line, what in sql_in(ast.parse(path.read_text(encoding="utf-8"), str(path)))
    ]
    assert not offences, "SQL in route modules (move it to api/crud.py):\n" + "\n".join(offences)


def test_the_guard_sees_sql() -> None:
    """The checker itself: it finds each kind of offence, and passes a clean module."""
    source = (
        "from sqlalchemy import select\n"
        "from sqlalchemy.exc import IntegrityError\n"
        "import sqlalchemy\n"
        "from sqlalchemy.orm import Session\n"
        "def f(session):\n"
        "    session.execute(select(X))\n"
        "    session.scalars(update(X)).all()\n"
        "    session.scalar(delete(X))\n"
        "    session.query(X)\n"
        "    insert(X)\n"
        "    session.get(X, 1)\n"
    )
    found = sql_in(ast.parse(source))
    assert found == [
        (1, "from sqlalchemy import select"),
        (2, "from sqlalchemy.exc import IntegrityError"),
        (3, "import sqlalchemy"),
        (6, ".execute(...)"),
        (6, "select(...)"),
        (7, ".scalars(...)"),
        (7, "update(...)"),
        (8, ".scalar(...)"),
        (8, "delete(...)"),
        (9, ".query(...)"),
        (10, "insert(...)"),
    ]
    assert sql_in(ast.parse("from sqlalchemy.orm import Session\nsession.get(X, 1)\n")) == []
