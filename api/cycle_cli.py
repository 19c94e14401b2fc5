"""``matcher cycle``: drive the quarterly cycle from a terminal or a script, through a
running ``matcher serve`` (registered as a ``matcher.commands`` plugin).

Each subcommand is one request to the service, made with the caller's key
(``--key`` or ``$MATCHER_KEY``) at ``--url`` (or ``$MATCHER_URL``); the service decides
every rule, so the command line holds none. The answer is printed as JSON; a refusal is
printed on stderr in the chosen language (``--lang`` or ``$MATCHER_LANG``) with the
fields it names, and the exit code is 2 for a refused request (4xx), 1 for anything else.

    matcher cycle create --district Gulou --period 2026-Q4 --dataset <id>
    matcher cycle add <cycle> demands new-demands.csv --origin hotline
    matcher cycle move <cycle> open_planning
    matcher cycle run <cycle> --wait
    matcher cycle adopt <cycle> <run>
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["register_cycle"]

URL_ENV, KEY_ENV, LANG_ENV = "MATCHER_URL", "MATCHER_KEY", "MATCHER_LANG"
EXIT_REFUSED, EXIT_FAILED = 2, 1
_MEDIA = {
    ".csv": "text/csv",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class Refused(Exception):
    """The service answered with an error (its status and JSON body)."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body


def _request(args: argparse.Namespace, method: str, path: str, **kwargs: Any) -> Any:
    """One request to the service; its JSON answer, or :class:`Refused`."""
    import httpx

    key = args.key or os.environ.get(KEY_ENV)
    headers = {"Accept-Language": args.lang or os.environ.get(LANG_ENV) or "en"}
    if key:
        headers["X-API-Key"] = key
    headers.update(kwargs.pop("headers", {}))
    url = (args.url or os.environ.get(URL_ENV) or "http://127.0.0.1:8000").rstrip("/")
    response = httpx.request(method, url + path, headers=headers, timeout=args.timeout, **kwargs)
    try:
        body = response.json()
    except ValueError:
        body = response.text
    if response.status_code >= 400:
        raise Refused(response.status_code, body)
    return body


def _file(path: str) -> dict[str, Any]:
    """A CSV or Excel file as a request body."""
    p = Path(path)
    media = _MEDIA.get(p.suffix.lower())
    if media is None:
        raise ValueError(f"{path}: a .csv or .xlsx file is expected")
    return {"content": p.read_bytes(), "headers": {"Content-Type": media}}


def _keyed(text: str, parts: int, option: str) -> list[str]:
    """``kind:id:demand[:...]`` split into ``parts`` fields."""
    fields = text.split(":")
    if len(fields) != parts:
        raise ValueError(f"{option} {text!r}: expected {parts} fields joined by ':'")
    return fields


def _edits(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The draft edits of ``--exclude``, ``--pin`` and ``--move`` (in that order)."""
    edits: list[dict[str, Any]] = []
    for action, values in (("exclude", args.exclude), ("pin", args.pin)):
        for text in values or ():
            kind, sid, demand = _keyed(text, 3, f"--{action}")
            edits.append(
                {"action": action, "supplier_kind": kind, "supplier_id": sid, "demand_id": demand}
            )
    for text in args.move or ():
        kind, sid, demand, hours, to_kind, to_id = _keyed(text, 6, "--move")
        edits.append(
            {
                "action": "move_hours",
                "supplier_kind": kind,
                "supplier_id": sid,
                "demand_id": demand,
                "hours": int(hours),
                "to_kind": to_kind,
                "to_id": to_id,
            }
        )
    return edits


def _wait_run(args: argparse.Namespace, run: dict[str, Any]) -> dict[str, Any]:
    """Poll a run until it has finished."""
    while run.get("status") in ("queued", "running"):
        time.sleep(0.2)
        run = _request(args, "GET", f"/runs/{run['id']}")
    return run


def _call(args: argparse.Namespace) -> Any:  # noqa: C901, PLR0911, PLR0912 -- one branch per subcommand
    """The request of ``args.verb``, made; its answer."""
    c = f"/cycles/{getattr(args, 'cycle', '')}"
    verb = args.verb
    if verb == "create":
        body: dict[str, Any] = {
            "district": args.district,
            "period": args.period,
            "dataset_id": args.dataset,
            "skipped": args.skip or [],
        }
        if args.street:
            body["streets"] = args.street
        return _request(args, "POST", "/cycles", json=body)
    if verb == "list":
        return _request(args, "GET", "/cycles")
    if verb == "show":
        return _request(args, "GET", c)
    if verb == "move":
        return _request(args, "POST", f"{c}/moves/{args.action}", json={"reason": args.reason})
    if verb == "add":
        return _request(
            args,
            "POST",
            f"{c}/lists/{args.table}/file",
            params={"origin": args.origin},
            **_file(args.file),
        )
    if verb == "lists":
        page = {"limit": args.limit, "offset": args.offset}
        return _request(args, "GET", f"{c}/lists/{args.table}", params=page)
    if verb == "run":
        body = {"params": dict(p.split("=", 1) for p in args.param or ())}
        run = _request(args, "POST", f"{c}/runs", json=body)
        return _wait_run(args, run) if args.wait else run
    if verb == "adopt":
        return _request(args, "POST", f"{c}/draft", json={"run_id": args.run})
    if verb == "edit":
        body = {"edits": _edits(args)}
        if args.change_penalty is not None:
            body["change_penalty"] = args.change_penalty
        return _request(args, "POST", f"{c}/draft/edits", json=body)
    if verb == "stable":
        return _request(
            args, "POST", f"{c}/draft/stable", json={"change_penalty": args.change_penalty}
        )
    if verb == "draft":
        return _request(args, "GET", f"{c}/draft")
    if verb == "comment":
        body = {"kind": args.kind, "body": args.body}
        if args.demand:
            body["demand_id"] = args.demand
        return _request(args, "POST", f"{c}/comments", json=body)
    if verb == "objections":
        return _request(args, "GET", f"{c}/objections")
    if verb == "answer":
        return _request(
            args,
            "POST",
            f"{c}/objections/{args.objection}/answer",
            json={"answer": args.answer, "upheld": args.upheld},
        )
    if verb == "deliver":
        return _request(args, "POST", f"{c}/deliveries/file", **_file(args.file))
    if verb == "decide":
        return _request(
            args, "POST", f"{c}/deliveries/{args.delivery}/decision", json={"status": args.status}
        )
    if verb == "progress":
        return _request(args, "GET", f"{c}/progress")
    if verb == "tokens":
        return _request(
            args,
            "POST",
            f"{c}/rating-tokens",
            json={"community_id": args.community, "count": args.count},
        )
    if verb == "ratings":
        return _request(args, "GET", f"{c}/ratings", params={"level": args.level})
    if verb == "points":
        return _request(args, "GET", f"{c}/points")
    if verb == "next":
        body = {"scale_by_reliability": args.scale_by_reliability}
        if args.period:
            body["period"] = args.period
        return _request(args, "POST", f"{c}/next", json=body)
    if verb == "audit":
        return _request(args, "GET", f"{c}/audit")
    raise ValueError(verb)


def cmd_cycle(args: argparse.Namespace) -> int:
    """Run one ``matcher cycle`` subcommand; print its answer (JSON) or its refusal."""
    import httpx

    try:
        answer = _call(args)
    except Refused as exc:
        body: dict[str, Any] = exc.body if isinstance(exc.body, dict) else {"detail": str(exc.body)}
        print(f"error ({exc.status}): {body.get('detail', '')}", file=sys.stderr)
        for item in body.get("errors") or ():
            where = ", ".join(
                f"{k}={item[k]}" for k in ("file", "row", "column", "field") if item.get(k)
            )
            print(f"  {where}: {item.get('message', '')}", file=sys.stderr)
        return EXIT_REFUSED
    except (httpx.HTTPError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(json.dumps(answer, ensure_ascii=False, indent=2))
    return 0


def _verbs(sub: Any) -> None:  # noqa: PLR0915 -- one parser per subcommand, in a row
    """The subcommands of ``matcher cycle``."""

    def verb(name: str, help: str, *, cycle: bool = True) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(name, help=help)
        if cycle:
            p.add_argument("cycle", help="the cycle's id")
        p.set_defaults(verb=name)
        return p

    p = verb("create", "open a cycle (planner)", cycle=False)
    p.add_argument("--district", required=True)
    p.add_argument("--street", action="append", help="limit to this street (repeatable)")
    p.add_argument("--period", required=True, help="the quarter, e.g. 2026-Q4")
    p.add_argument("--dataset", required=True, help="the stored dataset the lists start from")
    p.add_argument("--skip", action="append", help="a phase the district leaves out")
    verb("list", "the cycles in the key's scope", cycle=False)
    verb("show", "a cycle: its phase and what the key may do now")
    p = verb("move", "move the cycle on (submit, approve, return, publish ...)")
    p.add_argument("action")
    p.add_argument("--reason", default="", help="why (needed to return, withdraw or revise)")
    p = verb("add", "add rows to a list from a CSV or Excel file")
    p.add_argument("table", choices=("demands", "resources", "cadres"))
    p.add_argument("file")
    p.add_argument(
        "--origin", default="joint_meeting", help="hotline, joint_meeting, home_visit ..."
    )
    p = verb("lists", "the rows of one list")
    p.add_argument("table", choices=("demands", "resources", "cadres"))
    p.add_argument("--limit", type=int, default=1000, help="rows per page")
    p.add_argument("--offset", type=int, default=0, help="rows to skip")
    p = verb("run", "plan the cycle's lists (planner)")
    p.add_argument("--param", action="append", help="a plan parameter, name=value")
    p.add_argument("--wait", action="store_true", help="wait until the run has finished")
    p = verb("adopt", "adopt a run as the draft project list")
    p.add_argument("run")
    p = verb("edit", "edit the draft (re-planned stably)")
    p.add_argument("--exclude", action="append", help="kind:supplier:demand")
    p.add_argument("--pin", action="append", help="kind:supplier:demand")
    p.add_argument("--move", action="append", help="kind:supplier:demand:hours:to_kind:to_id")
    p.add_argument("--change-penalty", type=float)
    p = verb("stable", "plan stably against the previous cycle's published list")
    p.add_argument("--change-penalty", type=float, default=0.0)
    verb("draft", "the draft project list")
    p = verb("comment", "comment in the discussion")
    p.add_argument("--kind", required=True, choices=("support", "objection", "question"))
    p.add_argument("--body", required=True)
    p.add_argument("--demand")
    verb("objections", "the objections to the public notice (planner)")
    p = verb("answer", "answer an objection (planner)")
    p.add_argument("objection", type=int)
    p.add_argument("--answer", required=True)
    p.add_argument("--upheld", action="store_true")
    p = verb("deliver", "record delivered hours from a CSV in the export's format")
    p.add_argument("file")
    p = verb("decide", "confirm or reject delivered hours (community)")
    p.add_argument("delivery", type=int)
    p.add_argument("status", choices=("approved", "rejected"))
    verb("progress", "each project's delivered hours and status")
    p = verb("tokens", "issue rating tokens for a community's residents")
    p.add_argument("--community", required=True)
    p.add_argument("--count", type=int, default=10)
    p = verb("ratings", "the ratings, aggregated")
    p.add_argument(
        "--level", default="project", choices=("project", "unit", "community", "district")
    )
    verb("points", "the cadres' points of a closed cycle")
    p = verb("next", "open the next quarter's cycle from a closed one")
    p.add_argument("--period")
    p.add_argument("--scale-by-reliability", action="store_true")
    verb("audit", "the cycle's audit log")


def register_cycle(subparsers: Any) -> None:
    """Add ``matcher cycle`` to the command line."""
    p = subparsers.add_parser(
        "cycle", help="drive the quarterly cycle through a running planner service"
    )
    p.add_argument("--url", help=f"the service (${URL_ENV}, default http://127.0.0.1:8000)")
    p.add_argument("--key", help=f"an API key (${KEY_ENV})")
    p.add_argument("--lang", help=f"language of refusals (${LANG_ENV}, default en)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per request")
    _verbs(p.add_subparsers(dest="verb", required=True, metavar="SUBCOMMAND"))
    p.set_defaults(func=cmd_cycle)
