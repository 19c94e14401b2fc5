"""Request dependencies: the database session, the caller's key and role checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.db.session import session_scope
from api.errors import ApiError
from api.middleware import RateLimits, client_address, rate_text
from api.security import ROLE_RANK, allows, find_key
from api.settings import Settings
from matcher.i18n import LANGS, N_, Text

__all__ = [
    "LANG_PATTERN",
    "Admin",
    "LangQuery",
    "Planner",
    "Principal",
    "RowsLimit",
    "RowsOffset",
    "RunId",
    "RunRead",
    "RunReadDep",
    "SessionDep",
    "SettingsDep",
    "Viewer",
    "api_key_header",
    "bearer",
    "current_principal",
    "district_scope",
    "get_session",
    "get_settings",
    "limit_public_write",
    "require",
    "run_read",
    "single_query_values",
    "too_many",
]

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
                Text(
                    N_("query parameter {name} is given more than once; give it once"),
                    name=repr(name),
                ),
                [{"field": name, "message": Text(N_("repeated"))}],
            )
        seen.add(name)


LANG_PATTERN = "^(" + "|".join(LANGS) + ")$"
"""The ``?lang=`` values the service speaks: English and every catalogue."""

LangQuery = Annotated[
    str | None,
    Query(
        pattern=LANG_PATTERN,
        description="The language of the texts: " + ", ".join(LANGS) + "; default the "
        "request's Accept-Language, else en.",
    ),
]
"""An optional ``?lang=`` (a route reads the language with ``api.errors.request_lang``,
which prefers it to Accept-Language)."""

RunId = Annotated[str, Path(min_length=1, max_length=32, description="A run's id.")]
"""A run's id in a route's path (plans and recommendations alike)."""

RowsLimit = Annotated[int, Query(ge=1, le=10000, description="Rows per page.")]
"""The rows of a table a page holds (``?limit=``)."""

RowsOffset = Annotated[int, Query(ge=0, le=2**31 - 1, description="Rows to skip.")]
"""The rows of a table a page skips (``?offset=``)."""

# scope="function": the session is committed (or rolled back) when the route returns,
# before the response is sent, so that a client never hears of a change the store has
# not kept (the default, "request", commits after the response has gone out: a client
# could act on a 201 whose rows were not yet committed, or never would be).
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key's id, role and district scope (``None`` = every district)."""

    key_id: int
    role: str
    districts: list[str] | None
    streets: list[str] | None = None
    communities: list[str] | None = None
    units: list[str] | None = None

    def can_read_district(self, district: str) -> bool:
        """Whether the key may read results of ``district``."""
        return self.districts is None or district in self.districts


_UNAUTHORIZED = {"WWW-Authenticate": 'Bearer, ApiKey header="X-API-Key"'}


def too_many(detail: str | Text, wait: int, code: str = "rate_limited") -> ApiError:
    """A 429 asking to retry in ``wait`` seconds."""
    return ApiError(429, code, detail, headers={"Retry-After": str(wait)})


_PUBLIC_WRITES = {
    "objections": N_(
        "too many objections from this address (the limit is {limit}, "
        "MATCHER_RATE_LIMIT_OBJECTIONS); retry in {wait} s"
    ),
    "ratings": N_(
        "too many ratings from this address (the limit is {limit}, "
        "MATCHER_RATE_LIMIT_RATINGS); retry in {wait} s"
    ),
}


def limit_public_write(request: Request, kind: str) -> None:
    """429 when the client address has made too many public writes of ``kind``
    (``objections``, ``ratings``); nothing while the service's rate limits are off."""
    limits: RateLimits | None = getattr(request.app.state, "rate_limits", None)
    if limits is None:
        return
    refused = limits.hit_public(kind, client_address(request.scope))
    if refused is not None:
        item, wait = refused
        raise too_many(Text(_PUBLIC_WRITES[kind], limit=rate_text(item), wait=wait), wait)


def current_principal(
    request: Request,
    session: SessionDep,
    x_api_key: Annotated[str | None, Security(api_key_header)] = None,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
) -> Principal:
    """The caller's key, from ``X-API-Key`` or ``Authorization: Bearer``; else 401.

    A malformed ``Authorization`` header is refused even beside a valid ``X-API-Key``:
    credentials the server cannot read are never silently ignored.

    Rate limits (when on): an address that has sent too many bad keys gets 429 for every
    keyed request, good keys included, before its key is even looked up (so a guess that
    happens to be right cannot be told from a wrong one); a known key past its own rate
    gets 429."""
    limits: RateLimits | None = getattr(request.app.state, "rate_limits", None)
    address = client_address(request.scope)
    # a request without any credential is no guess: only presented ones count
    presented = bool(x_api_key) or request.headers.get("authorization") is not None
    if limits is not None and presented:
        blocked = limits.auth_blocked(address)
        if blocked is not None:
            item, wait = blocked
            raise too_many(
                Text(
                    N_(
                        "too many invalid API keys from this address (the limit is {limit}, "
                        "MATCHER_RATE_LIMIT_FAILED_AUTH); every keyed request from it is "
                        "refused for {wait} s"
                    ),
                    limit=rate_text(item),
                    wait=wait,
                ),
                wait,
                "too_many_failed_auths",
            )
    try:
        principal = _principal(request, session, x_api_key, credentials)
    except ApiError as exc:
        if limits is not None and presented and exc.status == 401:
            limits.note_failed_auth(address)
        raise
    if limits is not None:
        refused = limits.hit_key(principal.key_id)
        if refused is not None:
            item, wait = refused
            raise too_many(
                Text(
                    N_(
                        "too many requests with this API key (the limit is {limit}, "
                        "MATCHER_RATE_LIMIT_PER_KEY); retry in {wait} s"
                    ),
                    limit=rate_text(item),
                    wait=wait,
                ),
                wait,
            )
    return principal


def _principal(
    request: Request,
    session: Session,
    x_api_key: str | None,
    credentials: HTTPAuthorizationCredentials | None,
) -> Principal:
    """The key of the request; 401 when there is none or it is bad."""
    if credentials is None and request.headers.get("authorization") is not None:
        raise ApiError(
            401,
            "unauthorized",
            Text(N_("the Authorization header must be 'Bearer <key>'")),
            headers=_UNAUTHORIZED,
        )
    token = x_api_key or (credentials.credentials if credentials else None)
    if not token:
        raise ApiError(
            401,
            "unauthorized",
            Text(
                N_(
                    "an API key is required: send it as the X-API-Key header or as "
                    "'Authorization: Bearer <key>'"
                )
            ),
            headers=_UNAUTHORIZED,
        )
    row = find_key(session, token.strip())
    if row is None:
        raise ApiError(
            401,
            "unauthorized",
            Text(N_("the API key is not valid (unknown or revoked)")),
            headers=_UNAUTHORIZED,
        )

    def scope(values: list[Any] | None) -> list[str] | None:
        return [str(v) for v in values] if values else None

    return Principal(
        row.id,
        row.role,
        scope(row.districts),
        scope(row.streets),
        scope(row.communities),
        scope(row.units),
    )


def require(role: str) -> Callable[..., Principal]:
    """A dependency admitting keys with ``role`` or a higher one (else 403)."""
    if role not in ROLE_RANK:
        raise ValueError(role)

    def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not allows(principal.role, role):
            raise ApiError(
                403,
                "forbidden",
                Text(
                    N_("this needs the {role} role (or higher); the key has the {has} role"),
                    role=role,
                    has=principal.role,
                ),
            )
        return principal

    return check


def district_scope(who: Principal, district: str | None) -> list[str] | None:
    """The districts a request reads (``None``: all): ``district`` if given and the key
    may read it (else 403 ``forbidden_district``), else the key's own scope."""
    if district is None:
        return who.districts
    if not who.can_read_district(district):
        raise ApiError(
            403,
            "forbidden_district",
            Text(
                N_("this key may read only districts {districts}"),
                districts=", ".join(who.districts or []),
            ),
        )
    return [district]


Viewer = Annotated[Principal, Depends(require("viewer"))]
Planner = Annotated[Principal, Depends(require("planner"))]
Admin = Annotated[Principal, Depends(require("admin"))]


@dataclass(frozen=True)
class RunRead:
    """A viewer's read of one run's stored results (its bottlenecks, summaries, project
    list, report): the parameters those routes share, ahead of their own query ones."""

    run_id: str
    request: Request
    session: Session
    who: Principal


def run_read(run_id: RunId, request: Request, session: SessionDep, who: Viewer) -> RunRead:
    """The :class:`RunRead` of a request.

    FastAPI lists a dependency's parameters after the route's own ones of the same kind
    (path, query): a route with a second path parameter (a demand's id) would list it
    before the run's, so such routes declare ``run_id`` themselves."""
    return RunRead(run_id, request, session, who)


RunReadDep = Annotated[RunRead, Depends(run_read)]
