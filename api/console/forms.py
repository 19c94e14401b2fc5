"""A refused form's errors for its page: each field's message in the reader's language
(the same messages as the JSON API's 422s), and the sentence above the form."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from api.errors import ApiError, validation_message
from matcher.errors import ParameterError
from matcher.i18n import N_, Text, render, translator

__all__ = ["field_errors", "name_list", "refused_status"]


def field_errors(exc: Exception, lang: str) -> tuple[dict[str, str], str]:
    """``(field → message, summary)`` of a refusal: a pydantic model's errors, an
    :class:`~api.errors.ApiError` (with its ``errors`` items' fields), a
    :class:`~matcher.errors.ParameterError` or a ``ValueError`` whose message is a
    :class:`~matcher.i18n.Text`.

    >>> from api.cycles.schemas import MoveCreate
    >>> try:
    ...     MoveCreate(reason="x" * 5000)
    ... except ValidationError as exc:
    ...     errors, summary = field_errors(exc, "en")
    >>> list(errors), summary
    (['reason'], 'Please correct the fields marked below.')
    """
    t = translator(lang)
    fields: dict[str, str] = {}
    if isinstance(exc, ValidationError):
        for error in exc.errors():
            name = ".".join(str(p) for p in error.get("loc", ())) or "form"
            fields.setdefault(name, validation_message(error, lang))
        return fields, t(N_("Please correct the fields marked below."))
    if isinstance(exc, ApiError):
        for item in exc.errors or []:
            where = item.get("field") if isinstance(item, dict) else None
            if where:
                fields.setdefault(str(where), str(render(_message(item), lang)))
        return fields, str(render(exc.detail, lang))
    if isinstance(exc, ParameterError):
        fields[exc.name] = exc.render(lang)
        return fields, exc.render(lang)
    message = exc.args[0] if exc.args else str(exc)
    return fields, str(render(message, lang)) if isinstance(message, Text) else str(message)


def _message(item: dict[str, Any]) -> Any:
    return item.get("message") or item.get("detail") or item.get("expected") or ""


def refused_status(exc: Exception) -> int:
    """The status of a page showing a refused form again: the service's (403, 404,
    409, 413 ...) or 422 for what the form's own checks refused."""
    return exc.status if isinstance(exc, ApiError) else 422


def name_list(text: str) -> list[str] | None:
    """A comma-separated field as a scope: ``None`` when empty (no narrowing), else
    the distinct names, sorted (Chinese commas too).

    >>> name_list(" Gulou，Taijiang , Gulou"), name_list(" , ")
    (['Gulou', 'Taijiang'], None)
    """
    parts = {p.strip() for p in text.replace("，", ",").split(",")}
    parts.discard("")
    return sorted(parts) if parts else None
