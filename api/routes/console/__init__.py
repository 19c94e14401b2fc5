"""The console's routes, one module per resource (pages under ``/console``).

Each route converts a page's form into a call of :mod:`api.cycles` or :mod:`api.crud`
(as the JSON routes do) and renders a template; every write needs the form token
(:func:`api.console.deps.protect_forms`, on every router here).
"""

from __future__ import annotations

import importlib
import pkgutil

from fastapi import APIRouter, Depends

from api.console.deps import protect_forms

__all__ = ["console_router", "page_routers"]


def console_router() -> APIRouter:
    """A router of console pages: under ``/console``, out of the API's schema, every
    write checked for its form token."""
    return APIRouter(
        prefix="/console", include_in_schema=False, dependencies=[Depends(protect_forms)]
    )


def page_routers() -> list[APIRouter]:
    """The ``router`` of every module of this package, by module name (a new page
    module is served by being here)."""
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
    return [importlib.import_module(f"{__name__}.{name}").router for name in names]
