"""``/keys``: API keys (admin only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from api import crud
from api.db.models import ApiKey, utcnow
from api.deps import Admin, SessionDep
from api.errors import ApiError, not_found, responses
from api.schemas import KeyCreate, KeyCreated, KeyPublic
from api.security import create_key
from matcher.i18n import N_, Text

__all__ = ["router"]

router = APIRouter(prefix="/keys", tags=["keys"], responses=responses(400, 401, 403, 413))


@router.post("", status_code=201, response_model=KeyCreated, responses=responses(422))
def make_key(body: KeyCreate, session: SessionDep, _who: Admin) -> KeyCreated:
    """Create a key; the response carries the key itself, shown this once."""
    try:
        row, token = create_key(
            session,
            body.role,
            body.name,
            body.districts,
            streets=body.streets,
            communities=body.communities,
            units=body.units,
        )
    except ValueError as exc:  # the schema refuses these first; the store never gets one
        first = exc.args[0] if exc.args else ""
        message = first if isinstance(first, Text) else str(exc)
        raise ApiError(
            422,
            "invalid_parameter",
            message,
            [{"field": "districts", "value": repr(body.districts), "message": message}],
        ) from None
    return KeyCreated(**KeyPublic.from_row(row).model_dump(), key=token)


@router.get("", response_model=list[KeyPublic])
def list_keys(session: SessionDep, _who: Admin) -> list[KeyPublic]:
    """Every key (revoked ones too), newest first; never the keys themselves."""
    return [KeyPublic.from_row(r) for r in crud.list_keys(session)]


@router.delete("/{key_id}", status_code=204, responses=responses(404, 409, 422))
def revoke_key(
    key_id: Annotated[int, Path(ge=1, le=2**31 - 1)], session: SessionDep, who: Admin
) -> Response:
    """Revoke a key: it stops working at once. A key cannot revoke itself (409), so an
    admin cannot lock the service out by mistake."""
    row = session.get(ApiKey, key_id)
    if row is None:
        raise not_found("key", key_id)
    if row.id == who.key_id:
        raise ApiError(
            409, "own_key", Text(N_("a key cannot revoke itself; use another admin key"))
        )
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return Response(status_code=204)
