"""``/public``: the public notice (公示) of a cycle's project list, for everyone, no key.

- ``GET /public/cycles/{id}/communities/{community_id}``: a community's page (HTML, in
  Chinese unless ``?lang=en`` or ``Accept-Language`` asks for English), with the
  objection form and the cycle's public record;
- ``.../communities/{community_id}.json``: the same as JSON;
- ``GET /public/cycles/{id}/projects.csv``: the whole list as CSV;
- ``POST /public/cycles/{id}/objections`` (JSON) and ``.../objections/form`` (the
  page's form): an objection, during ``public_notice``;
- ``POST /public/cycles/{id}/ratings/form`` (the page's form during ``evaluation``): a
  resident's rating with a token (the JSON route is in ``public_ratings.py``).

The list is the draft during ``public_notice`` and the newest published version in the
other phases where the public may ``read_notice`` (published, evaluation). In any other
phase the page says the list is not on notice (HTTP 200: the address stays valid, the
page says why it is empty), while the JSON and CSV answer 404 ``not_on_notice``.

The page's two forms carry the form token of the console (:mod:`api.console.csrf`: a
cookie and its HMAC in the form); a form without it is the page again with 403 and what
was typed kept. The JSON routes need none (no cookie is involved).

Nothing here names a cadre, a cadre's home, a place's coordinates or an objector's
contact. Objections are limited per client address (``MATCHER_RATE_LIMIT_OBJECTIONS``,
:func:`api.deps.limit_public_write`) whenever the service's rate limits are on.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path as FsPath
from typing import Annotated, Any
from urllib.parse import parse_qs, quote, urlencode

import jinja2
import segno
from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.types import DecoratedCallable
from markupsafe import Markup
from sqlalchemy.orm import Session

from api.console.csrf import FIELD, Csrf
from api.console.pages import cell
from api.cycles import core, evaluation, notice
from api.cycles.access import PUBLIC
from api.cycles.schemas_delivery import PublicRatingCreate
from api.cycles.schemas_notice import (
    NoticeAnswer,
    NoticeProject,
    NoticePublic,
    NoticeUnit,
    ObjectionCreate,
    ObjectionFiled,
)
from api.deps import SessionDep, limit_public_write
from api.errors import ApiError, request_lang, responses
from api.routes.cycles import PUBLIC_RESPONSES
from api.schemas import as_utc
from matcher.cycle.phases import PHASE_NAMES
from matcher.cycle.roles import can
from matcher.i18n import LANGS, N_, Text, negotiate, render, translator
from matcher.inputs.aliases import district_name

__all__ = [
    "ACTION_NAMES",
    "PAGE_TEXTS",
    "STATUS_NAMES",
    "page_lang",
    "router",
]

router = APIRouter(prefix="/public", tags=["public"], responses=PUBLIC_RESPONSES)

_HTML = {
    "content": {"text/html": {"schema": {"type": "string"}}},
    "description": "A page that works on a phone, without scripts or external requests",
}


def _HTML_OR_JSON(code: int) -> dict[str, Any]:
    """An error answered as the page (a refused form) or as the usual JSON body."""
    entry = {k: v for k, v in PUBLIC_RESPONSES[code].items() if k != "model"}
    entry["content"] = {
        "text/html": {"schema": {"type": "string"}},
        # the component the other routes' errors already define
        "application/json": {"schema": {"$ref": "#/components/schemas/ErrorPublic"}},
    }
    return entry


CycleId = Annotated[str, Path(min_length=1, max_length=32, description="A cycle's id.")]
CommunityId = Annotated[
    str, Path(min_length=1, max_length=200, description="A community's id in the lists.")
]

STATUS_NAMES = {
    "met": N_("met"),
    "partial": N_("partly met"),
    "unmet": N_("not met"),
}
"""A project's status for people."""

ACTION_NAMES = {
    "create_cycle": N_("cycle opened"),
    "open_planning": N_("lists closed, planning opened"),
    "submit": N_("list submitted"),
    "approve": N_("list approved"),
    "return": N_("list returned"),
    "publish": N_("list published"),
    "publish_version": N_("version frozen"),
    "withdraw": N_("list withdrawn"),
    "revise": N_("list revised"),
    "start_delivery": N_("delivery started"),
    "start_evaluation": N_("evaluation started"),
    "close": N_("cycle closed"),
    "object": N_("objection filed"),
    "answer_objection": N_("objection answered"),
}
"""The public record's actions for people."""

PAGE_TEXTS = {
    "title": N_("Project list on public notice"),
    "period": N_("Quarter"),
    "district": N_("District"),
    "phase": N_("Phase"),
    "since": N_("Since"),
    "version": N_("Version"),
    "draft": N_("draft on public notice"),
    "projects": N_("Projects"),
    "demand": N_("Project"),
    "category": N_("Category"),
    "hours": N_("Hours asked"),
    "planned": N_("Hours planned"),
    "status": N_("Status"),
    "units": N_("Serving units (hours)"),
    "lead": N_("Lead unit"),
    "no_projects": N_("This community has no project on the list."),
    "not_on_notice": N_("The project list of this cycle is not on public notice now."),
    "object": N_("Object to the list"),
    "object_help": N_(
        "Anyone may object while the list is on notice; the planners answer every "
        "objection before the list is published. Your contact is seen by the planners only."
    ),
    "body": N_("Your objection"),
    "contact": N_("Contact (optional)"),
    "send": N_("Send"),
    "thanks": N_("Thank you: your objection is filed with number {id}."),
    "back": N_("Back to the list"),
    "error": N_("Your objection was not filed"),
    "answers": N_("Answers to objections"),
    "upheld": N_("upheld"),
    "not_upheld": N_("not upheld"),
    "record": N_("Public record"),
    "action": N_("Action"),
    "when": N_("When (UTC)"),
    "language": N_("Language"),
    "rate": N_("Rate a project"),
    "rate_help": N_(
        "Residents rate the delivered projects of their community, once per project, with "
        "the rating token their community handed out."
    ),
    "token": N_("Your rating token"),
    "rating": N_("Rating (1 to 5)"),
    "comment": N_("Comment (optional)"),
    "rated": N_("Thank you: your rating of project {id} is counted."),
    "rate_error": N_("Your rating was not counted"),
    "rate_this": N_("Rate project {id}"),
    "csrf_error": N_("Your form was not sent"),
    "csrf_failed": N_(
        "This form has expired or did not come from this page. Your text is kept below: "
        "please send it again."
    ),
    "qr": N_("This page's address"),
    "qr_help": N_("Scan the code to open this page on a phone."),
    "qr_title": N_("QR code of this page's address"),
}
"""Every text of the notice page, translated for the reader."""

_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(FsPath(__file__).resolve().parent.parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def page_lang(request: Request) -> str:
    """The page's language: ``?lang=``, else ``Accept-Language``, else Chinese."""
    if request.query_params.get("lang") in LANGS:
        return request_lang(request)
    return negotiate(request.headers.get("accept-language"), default="zh")


def _notice(session: Session, cycle_id: str, community_id: str, lang: str) -> NoticePublic:
    """A community's notice (404 for an unknown cycle or community)."""
    cycle = notice.public_cycle(session, cycle_id)
    name = notice.community_name(session, cycle, community_id)
    if name is None:
        raise ApiError(
            404,
            "not_found",
            Text(N_("no community with id {ident} in this cycle"), ident=repr(community_id)),
        )
    listed = notice.notice_list(session, cycle, community_id)
    units = notice.unit_names(session, cycle)
    projects = [
        NoticeProject(
            demand_id=p["demand_id"],
            category=p["category"],
            hours=p["hours"],
            planned_hours=p["planned_hours"],
            status=p["status"],
            lead_unit=p["lead_unit"],
            units=[
                NoticeUnit(unit_id=u["unit_id"], name=units.get(u["unit_id"], ""), hours=u["hours"])
                for u in p["units"]
            ],
        )
        for p in listed.projects
    ]
    answers = [
        NoticeAnswer(
            demand_id=o.demand_id,
            answer=o.answer or "",
            upheld=bool(o.upheld),
            answered_at=as_utc(o.answered_at) or cycle.phase_since,
        )
        for o in notice.answered(session, cycle, community_id)
    ]
    return NoticePublic(
        cycle_id=cycle.id,
        district=cycle.district,
        period=cycle.period,
        phase=cycle.phase,
        phase_name=translator(lang)(PHASE_NAMES[cycle.phase]),
        on_notice=listed.on_notice,
        source=listed.source,  # type: ignore[arg-type]  # one of the three
        version=listed.version,
        since=as_utc(listed.since),
        community_id=community_id,
        community_name=name,
        projects=projects,
        answers=answers,
        audit=[
            {"action": e.action, "at": as_utc(e.at)} for e in notice.public_entries(session, cycle)
        ],
    )


def _csrf(request: Request) -> Csrf:
    csrf: Csrf = request.app.state.console.csrf
    return csrf


def _qr(url: str, title: str) -> Markup:
    """An inline SVG QR code of ``url`` (made here: the page loads nothing from elsewhere;
    segno escapes the title)."""
    svg = segno.make(url, error="m", micro=False).svg_inline(
        scale=4, title=title, svgclass="qr", lineclass=None, omitsize=True
    )
    return Markup(svg)  # segno's own markup of our URL, escaped by segno


def _page(  # noqa: PLR0913  # the page's parts, by name
    request: Request,
    data: NoticePublic,
    lang: str,
    *,
    status: int = 200,
    filed: int | None = None,
    rated: str | None = None,
    error: str | None = None,
    error_title: str = "error",
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    _ = translator(lang)
    t = {k: _(v) for k, v in PAGE_TEXTS.items()}
    if filed is not None:
        t["thanks"] = t["thanks"].format(id=filed)
    if rated is not None:
        t["rated"] = t["rated"].format(id=rated)
    t["error"] = t[error_title]
    other = "en" if lang == "zh" else "zh"
    csrf = _csrf(request)
    here = f"/public/cycles/{quote(data.cycle_id, safe='')}/communities/" + quote(
        data.community_id, safe=""
    )
    # the code holds the whole address (as the reader reached the service); the text
    # shows it without the scheme, the link stays on the page's own site
    address = str(request.base_url).rstrip("/") + here
    html = _TEMPLATES.get_template("public/notice.html").render(
        lang=lang,
        html_lang="zh-CN" if lang == "zh" else lang,
        other_lang=other,
        other_name="English" if other == "en" else "中文",
        t=t,
        n=data,
        district=district_name(data.district, lang),
        category=lambda code: cell("category", code, lang),
        status_name=lambda code: _(STATUS_NAMES[code]) if code in STATUS_NAMES else code,
        action_name=lambda a: _(ACTION_NAMES[a]) if a in ACTION_NAMES else a,
        when=lambda d: "" if d is None else d.strftime("%Y-%m-%d %H:%M"),
        can_object=can("public", data.phase, "object"),
        can_rate=can("public", data.phase, "rate"),
        filed=filed,
        rated=rated,
        error=error,
        form=form or {},
        csrf_name=FIELD,
        csrf_token=csrf.token(csrf.cookie_of(request)),
        rate_link=lambda demand_id: f"{here}?{urlencode({'demand': demand_id})}#rate",
        here=here,
        shown_address=address.split("://", 1)[-1],
        qr=_qr(address, t["qr_title"]),
    )
    response = HTMLResponse(html, status_code=status)
    csrf.keep(request, response)
    return response


@router.get(
    "/cycles/{cycle_id}/communities/{community_id}.json",
    response_model=NoticePublic,
    responses={200: {"content": {"application/json": {}}}},
)
def notice_json(
    cycle_id: CycleId, community_id: CommunityId, request: Request, session: SessionDep
) -> Response:
    """A community's notice as JSON (404 ``not_on_notice`` outside the notice)."""
    lang = page_lang(request)
    data = _notice(session, cycle_id, community_id, lang)
    if not data.on_notice:
        raise notice.not_on_notice(notice.public_cycle(session, cycle_id))
    return Response(data.model_dump_json(), media_type="application/json")


@router.get(
    "/cycles/{cycle_id}/communities/{community_id}",
    response_class=Response,
    responses={200: _HTML},
)
def notice_page(
    cycle_id: CycleId, community_id: CommunityId, request: Request, session: SessionDep
) -> HTMLResponse:
    """A community's projects on public notice (or published) as a page, with the
    objection form during the notice, the rating form during the evaluation
    (``?demand=`` chooses the project: a printed link or QR code per project), the
    cycle's public record and a QR code of the page's address."""
    lang = page_lang(request)
    demand = request.query_params.get("demand", "")[:200]
    form = {"demand_id": demand} if demand else None
    return _page(request, _notice(session, cycle_id, community_id, lang), lang, form=form)


@router.get(
    "/cycles/{cycle_id}/projects.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def notice_csv(cycle_id: CycleId, session: SessionDep) -> Response:
    """The whole list on notice (or the newest published version) as CSV: public
    columns only; 404 ``not_on_notice`` in the phases the public may not read it."""
    return Response(
        notice.notice_csv(session, cycle_id),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="cycle-{cycle_id}-projects.csv"'},
    )


@router.post(
    "/cycles/{cycle_id}/objections",
    status_code=201,
    response_model=ObjectionFiled,
    responses=responses(409, 422),
)
def file_objection(
    cycle_id: CycleId, body: ObjectionCreate, request: Request, session: SessionDep
) -> ObjectionFiled:
    """Object to the list on notice (anyone, no key, during ``public_notice``). The
    contact, if given, is seen by the planners only."""
    limit_public_write(request, "objections")
    row = notice.file_objection(
        session,
        cycle_id,
        community_id=body.community_id,
        demand_id=body.demand_id,
        body=body.body,
        contact=body.contact,
    )
    return ObjectionFiled(
        id=row.id,
        cycle_id=row.cycle_id,
        community_id=row.community_id,
        demand_id=row.demand_id,
        filed_at=as_utc(row.filed_at) or row.filed_at,
    )


def _form_error(exc: Exception, lang: str) -> str:
    if isinstance(exc, ApiError):
        return str(render(exc.detail, lang))
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        from api.errors import validation_message

        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {validation_message(e, lang)}"
            for e in exc.errors()
        )
    raise exc


def _form_route(path: str) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """A POST route of one of the page's forms (objections, ratings): a refusal is the
    page again, with the error shown (an unknown cycle or a malformed request: JSON, as
    everywhere)."""
    return router.post(
        path,
        response_class=Response,
        responses={200: _HTML, **{c: _HTML_OR_JSON(c) for c in (404, 409, 422, 429)}},
        openapi_extra={
            "requestBody": {
                "content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}}
            }
        },
    )


FormAct = Callable[[Session, dict[str, str]], dict[str, Any]]


async def _form_answer(
    request: Request, cycle_id: str, names: tuple[str, ...], error_title: str, act: FormAct
) -> HTMLResponse:
    """A form of the page (``application/x-www-form-urlencoded``): ``act`` takes its
    fields; the page again with what it says (thanks), or with the error shown and what
    was typed kept (nothing stored)."""
    from pydantic import ValidationError
    from starlette.concurrency import run_in_threadpool

    from api.db.session import session_scope

    lang = page_lang(request)
    raw = (await request.body()).decode("utf-8", "replace")
    fields = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items() if v}
    form = {k: fields.get(k, "") for k in names}
    try:
        await _csrf(request).check(request)
        forged = False
    except ApiError:
        forged = True

    def handle() -> HTMLResponse:
        with session_scope(request.app.state.sessionmaker) as session:
            community = form["community_id"].strip()
            data = _notice(session, cycle_id, community or "-", lang)
            if forged:
                # another site's form, or a page kept open past its cookie: nothing is
                # stored, the page comes again with its token and the text kept
                message = translator(lang)(PAGE_TEXTS["csrf_failed"])
                return _page(
                    request,
                    data,
                    lang,
                    status=403,
                    error=message,
                    error_title="csrf_error",
                    form=form,
                )
            try:
                done = act(session, form)
            except (ApiError, ValidationError) as exc:
                session.rollback()
                status = exc.status if isinstance(exc, ApiError) else 422
                error = _form_error(exc, lang)
                return _page(
                    request,
                    data,
                    lang,
                    status=status,
                    error=error,
                    error_title=error_title,
                    form=form,
                )
            return _page(request, data, lang, **done)

    return await run_in_threadpool(handle)


@_form_route("/cycles/{cycle_id}/objections/form")
async def file_objection_form(cycle_id: CycleId, request: Request) -> HTMLResponse:
    """The page's objection form (``application/x-www-form-urlencoded``: community_id,
    demand_id, body, contact): a thank-you page, or the page with the error shown."""

    def act(session: Session, form: dict[str, str]) -> dict[str, Any]:
        limit_public_write(request, "objections")
        body = ObjectionCreate(
            community_id=form["community_id"].strip(),
            demand_id=form["demand_id"].strip() or None,
            body=form["body"],
            contact=form["contact"].strip() or None,
        )
        row = notice.file_objection(
            session,
            cycle_id,
            community_id=body.community_id,
            demand_id=body.demand_id,
            body=body.body,
            contact=body.contact,
        )
        return {"filed": row.id}

    names = ("community_id", "demand_id", "body", "contact")
    return await _form_answer(request, cycle_id, names, "error", act)


@_form_route("/cycles/{cycle_id}/ratings/form")
async def rate_form(cycle_id: CycleId, request: Request) -> HTMLResponse:
    """The page's rating form during the evaluation (``application/x-www-form-urlencoded``:
    community_id, demand_id, token, rating, comment): a thank-you page, or the page with
    the error shown. The same rules as ``POST /public/cycles/{id}/ratings``."""

    def act(session: Session, form: dict[str, str]) -> dict[str, Any]:
        limit_public_write(request, "ratings")
        body = PublicRatingCreate(
            demand_id=form["demand_id"].strip(),
            token=form["token"].strip(),
            rating=form["rating"].strip(),  # type: ignore[arg-type]  # pydantic reads it
            comment=form["comment"] or None,
        )
        cycle = core.get_cycle(session, cycle_id, PUBLIC)
        evaluation.rate_public(
            session,
            cycle,
            demand_id=body.demand_id,
            token=body.token,
            rating=body.rating,
            comment=body.comment,
        )
        return {"rated": body.demand_id}

    names = ("community_id", "demand_id", "token", "rating", "comment")
    return await _form_answer(request, cycle_id, names, "rate_error", act)
