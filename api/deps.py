"""Request dependencies: the database session, the caller's key and role checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.db.session import session_scope
from api.errors import ApiError
from api.security import ROLE_RANK, allows, find_key
from api.settings import Settings

api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key (matcher create-key)."
)
bearer = HTTPBearer(auto_error=False, description="The same API key as a bearer token.")


def get_session(request: Request) -> Iterator[Session]:
    """A session for the request, committed when the route returns without error."""
    with session_scope(request.app.state.sessionmaker) as session:
        yield session


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


def single_query_values(request: Request) -> None:
    """Refuse a query parameter given more than once (every parameter takes one value)."""
    seen: set[str] = set()
    for name, _value in request.query_params.multi_items():
        if name in seen:
            raise ApiError(
                422,
                "invalid_request",
                f"query parameter {name!r} is given more than once; give it once",
                [{"field": name, "message": "repeated"}],
            )
        seen.add(name)


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key's id, role and district scope (``None`` = every district)."""

    key_id: int
    role: str
    districts: list[str] | None

    def can_read_district(self, district: str) -> bool:
        """Whether the key may read results of ``district``."""
        return self.districts is None or district in self.districts


_UNAUTHORIZED = {"WWW-Authenticate": 'Bearer, ApiKey header="X-API-Key"'}


def current_principal(
    request: Request,
    session: SessionDep,
    x_api_key: Annotated[str | None, Security(api_key_header)] = None,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
) -> Principal:
    """The caller's key, from ``X-API-Key`` or ``Authorization: Bearer``; else 401.

    A malformed ``Authorization`` header is refused even beside a valid ``X-API-Key``:
    credentials the server cannot read are never silently ignored."""
    if credentials is None and request.headers.get("authorization") is not None:
        raise ApiError(
            401,
            "unauthorized",
            "the Authorization header must be 'Bearer <key>'",
            headers=_UNAUTHORIZED,
        )
    token = x_api_key or (credentials.credentials if credentials else None)
    if not token:
        raise ApiError(
            401,
            "unauthorized",
            "an API key is required: send it as the X-API-Key header or as "
            "'Authorization: Bearer <key>'",
            headers=_UNAUTHORIZED,
        )
    row = find_key(session, token.strip())
    if row is None:
        raise ApiError(
            401,
            "unauthorized",
            "the API key is not valid (unknown or revoked)",
            headers=_UNAUTHORIZED,
        )
    return Principal(row.id, row.role, list(row.districts) if row.districts else None)


def require(role: str) -> Callable[..., Principal]:
    """A dependency admitting keys with ``role`` or a higher one (else 403)."""
    if role not in ROLE_RANK:
        raise ValueError(role)

    def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not allows(principal.role, role):
            raise ApiError(
                403,
                "forbidden",
                f"this needs the {role} role (or higher); the key has the {principal.role} role",
            )
        return principal

    return check


Viewer = Annotated[Principal, Depends(require("viewer"))]
Planner = Annotated[Principal, Depends(require("planner"))]
Admin = Annotated[Principal, Depends(require("admin"))]
