"""Expensive reads of a run, computed once, never in the server process, and kept.

A run's HTML report, its bottlenecks, its summaries and its demands' explanations are
computed from the whole plan and its dataset: at generator scale 1, computing the report
in the server took 96 s and 18.5 GB, and the bottlenecks got the server killed (with every
run in progress). So the read routes only read what this module keeps in
``run_artifacts`` (one row per run and name: the answer, or the library's refusal), and
the computing happens in other processes:

* **In the run's worker, once the plan is stored** (:func:`build_run_artifacts`): the
  report in each language (``report.en.html``, ``report.zh.html``), the bottlenecks
  (``bottlenecks``) and the summaries (``summaries.en``, ``summaries.zh``), from the
  stored plan exactly as the routes read it. The languages of a report are made
  together (``matcher.report.html.build_reports``): what they share, supply within reach
  above all, is computed once, so the second language costs only its HTML (at generator
  scale 1, under a second against about eight for the shared part). The run is
  ``succeeded`` from the moment its plan is stored, whatever happens next; the
  dispatcher lets the worker finish these (in its slot) for at most
  ``read_time_limit_s``, and the seconds go into the run's ``timings`` (``artifacts``).
  A read that comes meanwhile waits for them rather than computing them twice (for at
  most :data:`WAIT_S`, then 503 with Retry-After; at most :data:`MAX_WAITERS` wait).
* **In a read worker, on first read** (:class:`ReadPool`): a demand's explanation (per
  demand and ``nearest``), a report against another run (in the language asked for),
  and anything a run lacks (runs stored before revision 0005 or before the reports had
  a Chinese page, a worker stopped before it was done). Each is one process (the
  dispatcher's ``forkserver``), at most ``max_concurrent_reads`` at once: a read that
  would need one more gets 503 with ``Retry-After``. Reads of the same missing artifact
  share one computation. The answer is kept, so the next read is a lookup.

What is kept is what the routes answered before, unscoped: a district-scoped key's view
is cut from it at read time (``api/routes/explain.py`` says how). A refusal of the
library (a plan with integer rules has no marginal values) is kept as its 409 code and
message. A computation that would take more memory than ``read_memory_mb`` fails
inside its process (:func:`memory_budget`) and is kept as ``too_large`` (409): the
bottlenecks of a very large city, which list every candidate arc, and then the summaries
are kept without their bottleneck sentence. Any other failure (a bug) is logged and kept
as ``artifact_failed``; the next read computes it again in a read worker and, failing
again, answers 503.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
import traceback
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd
from fastapi import Request
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from api import crud, store
from api.db.models import Assignment, DatasetRow, DemandStatus, Lead, Run, RunArtifact
from api.db.session import make_engine, make_sessionmaker, session_scope
from api.errors import ApiError
from matcher.analysis.explain import (
    ExplainParams,
    StoredReads,
    demand_explanation,
    plain_summaries,
    stored_reads,
)
from matcher.errors import ExplainError, MatcherError
from matcher.i18n import LANGS, N_, SOURCE_LANG, Text
from matcher.inputs.dataset import Dataset
from matcher.plans.result import Plan
from matcher.plans.tables import LEAD_COLUMNS
from matcher.report.html import build_reports

log = logging.getLogger("matcher.api.artifacts")

BOTTLENECKS = "bottlenecks"
HTML = "text/html; charset=utf-8"
JSON = "application/json"
FAILED = "artifact_failed"
"""``error_code`` of an artifact whose computation failed unexpectedly (not kept as an
answer: the next read computes it again)."""


def report_name(lang: str) -> str:
    """The artifact of a run's report in ``lang``."""
    return f"report.{lang}.html"


REPORT = report_name("en")
REPORTS = tuple(report_name(lang) for lang in LANGS)
"""A run's report in each language (the English one first)."""
_REPORT_NAME = re.compile(r"^report\.([a-z]{2,8})\.html(?::against:(.+))?$", re.S)


def report_of(name: str) -> tuple[str, str | None] | None:
    """The language and the other run (``None`` but for a comparison) of a report
    artifact's name; ``None`` for an artifact that is not a report.

    >>> report_of("report.zh.html:against:abc"), report_of("bottlenecks")
    (('zh', 'abc'), None)
    """
    m = _REPORT_NAME.match(name)
    return (m.group(1), m.group(2)) if m else None


def summaries_name(lang: str) -> str:
    """The artifact of a run's summaries in ``lang``."""
    return f"summaries.{lang}"


def explanation_name(demand_id: str, nearest: int) -> str:
    """The artifact of a demand's explanation listing ``nearest`` suppliers (the demand id
    last: it may hold any character)."""
    return f"explanation:{nearest}:{demand_id}"


def against_name(other_run_id: str, lang: str = "en") -> str:
    """The artifact of a run's report in ``lang`` compared with another run."""
    return f"{report_name(lang)}:against:{other_run_id}"


RUN_ARTIFACTS = (*REPORTS, BOTTLENECKS, *(summaries_name(lang) for lang in LANGS))
"""What a run's worker computes once its plan is stored."""
_EXPLAINED = (BOTTLENECKS, *(summaries_name(lang) for lang in LANGS))


@dataclass(frozen=True)
class Outcome:
    """One computed artifact: its content, or the library's refusal (a 409 code and the
    message), or an unexpected failure (:data:`FAILED`)."""

    media_type: str
    content: bytes | None = None
    error_code: str | None = None
    error: str | None = None
    seconds: float = 0.0


# ---- the stored plan, as the routes read it ---------------------------------------------

ASSIGNMENT_CSV = [c for c in store.ASSIGNMENT_FIELDS if c != "district"]
DEMAND_STATUS_CSV = list(store.DEMAND_STATUS_FIELDS)


def stored_plan(session: Session, run: Run, districts: list[str] | None = None) -> Plan:
    """A stored run as the library's :class:`~matcher.plans.result.Plan`: its tables
    (only ``districts``' rows when given), KPIs, parameters and dataset."""

    def rows(model: Any, fields: list[str]) -> pd.DataFrame:
        query = crud.ResultQuery(model, fields, run.id, {}, districts)
        return crud.result_frame(session, query)

    assignments = rows(Assignment, ASSIGNMENT_CSV)
    status = rows(DemandStatus, DEMAND_STATUS_CSV)
    assignments["km"] = assignments["km"].astype("float64")
    status["funds"] = status["funds"].astype("float64")
    dataset = session.get(DatasetRow, run.dataset_id)
    record = {
        "dataset": dataset.name if dataset is not None else "",
        "dataset_hash": dataset.content_hash if dataset is not None else "",
        "params": run.params or {},
    }
    return Plan.from_tables(
        {
            "assignments": assignments,
            "demand_status": status,
            "leads": rows(Lead, list(LEAD_COLUMNS)),
        },
        run.kpis or {},
        record,
        label=run.label or Text(N_("run {id}"), id=run.id[:8]),
    )


@dataclass(frozen=True)
class Inputs:
    """What the artifacts of a run are computed from: its stored plan and dataset (and,
    for a comparison, the other run's plan)."""

    run_id: str
    tables: Plan
    dataset: Dataset
    other: Plan | None = None


def load_inputs(session: Session, run: Run, other: Run | None = None) -> Inputs:
    """A run's plan and dataset from the store."""
    row = session.get(DatasetRow, run.dataset_id)
    name = row.name if row is not None else ""
    return Inputs(
        run.id,
        stored_plan(session, run),
        store.load_dataset(session, run.dataset_id, name),
        stored_plan(session, other) if other is not None else None,
    )


# ---- computing --------------------------------------------------------------------------


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_native).encode(
        "utf-8"
    )


def _native(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _failed(media_type: str, what: str, run_id: str, exc: BaseException) -> Outcome:
    log.error(
        "%s of run %s failed: %s\n%s", what, run_id, exc, "".join(traceback.format_exception(exc))
    )
    return Outcome(media_type, error_code=FAILED, error=f"{type(exc).__name__}: {exc}")


def _data_bytes() -> int | None:
    """This process's data segment now (``VmData``: heap and private mappings), or
    ``None`` where ``/proc`` does not say."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmData:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


@contextmanager
def memory_budget(mb: int | None) -> Iterator[None]:
    """Let this process's data grow by at most ``mb`` MiB inside the block (``RLIMIT_DATA``,
    which counts what numpy maps for large arrays): past it allocations fail with
    :class:`MemoryError` in this process, instead of the kernel killing the largest
    process on the machine (the server, with every run in progress)."""
    now = _data_bytes() if mb is not None else None
    if now is None or mb is None:
        yield
        return
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    limit = now + mb * 2**20
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


def _too_large(media_type: str, name: str, run_id: str, mb: int | None) -> Outcome:
    log.warning("%s of run %s needs more than %s MiB", name, run_id, mb)
    message = (
        f"computing {name} of run {run_id} needs more memory than the {mb} MiB a read may "
        "take (setting MATCHER_READ_MEMORY_MB)"
    )
    return Outcome(media_type, error_code="too_large", error=message)


def _reports(inputs: Inputs, names: Iterable[str]) -> dict[str, Outcome]:
    """Reports of one run (all plain, or all against the same run) in their languages,
    made together: what the languages share is computed once (``build_reports``). A
    refusal of the library is kept in each report's own language."""
    langs = {name: (report_of(name) or (SOURCE_LANG, None))[0] for name in names}
    try:
        pages = build_reports(
            inputs.tables, inputs.dataset, other=inputs.other, langs=list(langs.values())
        )
    except MatcherError as exc:
        reason = exc.args[0] if exc.args and isinstance(exc.args[0], Text) else str(exc)
        failed = Text(
            N_("the report of run {run_id} failed: {reason}"), run_id=inputs.run_id, reason=reason
        )
        return {
            name: Outcome(HTML, error_code="report_failed", error=failed.render(lang))
            for name, lang in langs.items()
        }
    return {
        name: Outcome(HTML, content=pages[lang].encode("utf-8")) for name, lang in langs.items()
    }


def _demand_districts(dataset: Dataset) -> dict[str, str]:
    comm = dataset.communities
    district_of = dict(
        zip(comm["community_id"].astype(str), comm["district"].astype(str), strict=True)
    )
    demands = dataset.demands
    return {
        str(d): district_of.get(str(c), "")
        for d, c in zip(demands["demand_id"], demands["community_id"], strict=True)
    }


def _explained(inputs: Inputs, mb: int | None = None) -> dict[str, Outcome]:
    """Bottlenecks and both summaries from one look at the plan, with what each row names
    (districts of the demands and communities) for readers scoped to districts. When the
    bottlenecks need more memory than ``mb``, they are refused (``too_large``) and the
    summaries leave out their bottleneck sentence."""
    run_id = inputs.run_id
    reads: StoredReads | None
    try:
        reads = stored_reads(inputs.tables, inputs.dataset, LANGS)
    except MemoryError:
        reads = None  # out of this block, the traceback no longer holds the arrays
    except MatcherError as exc:
        failed = f"run {run_id} cannot be explained: {exc}"
        # As bottlenecks() and summaries() each refused: a plan that does not fit its
        # dataset is "no marginal values" to the first, "cannot be explained" to the second.
        code = "no_marginal_values" if isinstance(exc, ExplainError) else "explain_failed"
        bottleneck_error = f"run {run_id}: {exc}" if code == "no_marginal_values" else failed
        out = {BOTTLENECKS: Outcome(JSON, error_code=code, error=bottleneck_error)}
        for lang in LANGS:
            out[summaries_name(lang)] = Outcome(JSON, error_code="explain_failed", error=failed)
        return out
    if reads is None:
        texts = plain_summaries(inputs.tables, inputs.dataset, ExplainParams(langs=LANGS))
        reads = StoredReads(None, "", [], texts)
    district_of = _demand_districts(inputs.dataset)
    out = {}
    if reads.bottlenecks is None and not reads.bottleneck_error:
        out[BOTTLENECKS] = _too_large(JSON, BOTTLENECKS, run_id, mb)
    elif reads.bottlenecks is None:
        message = f"run {run_id}: {reads.bottleneck_error}"
        out[BOTTLENECKS] = Outcome(JSON, error_code="no_marginal_values", error=message)
    else:
        rows = reads.bottlenecks.to_dict("records")
        scope = []
        for row, named in zip(rows, reads.bottleneck_demands, strict=True):
            scope.append(
                {
                    "demand_id": district_of.get(str(row["demand_id"])),
                    "gaining_demand_id": district_of.get(str(row["gaining_demand_id"])),
                    "moves": sorted({district_of.get(d, "") for d in named}),
                }
            )
        out[BOTTLENECKS] = Outcome(JSON, content=_json({"rows": rows, "scope": scope}))
    comm = inputs.dataset.communities
    comm_district = dict(
        zip(comm["community_id"].astype(str), comm["district"].astype(str), strict=True)
    )
    for lang in LANGS:
        table = reads.summaries[reads.summaries["lang"] == lang]
        rows = table.to_dict("records")
        districts = [
            str(r["id"]) if r["scope"] == "district" else comm_district.get(str(r["id"]), "")
            for r in rows
        ]
        out[summaries_name(lang)] = Outcome(
            JSON, content=_json({"rows": rows, "districts": districts})
        )
    return out


def _explanation(inputs: Inputs, name: str) -> Outcome:
    _, nearest, demand_id = name.split(":", 2)
    try:
        ex = demand_explanation(
            inputs.tables, inputs.dataset, demand_id, ExplainParams(nearest=int(nearest))
        )
    except MatcherError as exc:
        message = f"run {inputs.run_id} cannot be explained: {exc}"
        return Outcome(JSON, error_code="explain_failed", error=message)
    return Outcome(JSON, content=_json(ex.to_dict()))


def _same_report(a: str, b: str) -> bool:
    """Whether two artifacts are the same report (plain, or against the same run), in
    whichever languages."""
    ra, rb = report_of(a), report_of(b)
    return ra is not None and rb is not None and ra[1] == rb[1]


def compute(inputs: Inputs, names: Iterable[str], mb: int | None = None) -> dict[str, Outcome]:
    """Compute the named artifacts of a run (bottlenecks and summaries come together:
    asking for one gives all three), each within ``mb`` MiB (:func:`memory_budget`;
    ``None``: no limit). One that needs more is refused (``too_large``); any other
    failure than the library's refusal is logged and returned as :data:`FAILED`."""
    out: dict[str, Outcome] = {}
    wanted = list(dict.fromkeys(names))
    for name in wanted:
        if name in out:
            continue
        t0 = time.perf_counter()
        report = report_of(name)
        media = HTML if report is not None else JSON
        # The languages of one report asked for together are made together.
        together = [n for n in wanted if _same_report(name, n)] if report else [name]
        try:
            with memory_budget(mb):
                if report is not None:
                    got = _reports(inputs, together)
                elif name in _EXPLAINED:
                    got = _explained(inputs, mb)
                elif name.startswith("explanation:"):
                    got = {name: _explanation(inputs, name)}
                else:
                    raise ValueError(f"no artifact named {name!r}")
        except MemoryError:
            group = _EXPLAINED if name in _EXPLAINED else together
            got = {n: _too_large(media, n, inputs.run_id, mb) for n in group}
        except Exception as exc:  # kept as a failure; the server never sees the exception
            got = {n: _failed(media, n, inputs.run_id, exc) for n in together}
        seconds = time.perf_counter() - t0
        for key, outcome in got.items():
            out[key] = Outcome(
                outcome.media_type, outcome.content, outcome.error_code, outcome.error, seconds
            )
    return out


def save(
    session: Session,
    run_id: str,
    outcomes: Mapping[str, Outcome],
    other_run_id: str | None = None,
) -> None:
    """Keep computed artifacts (replacing those of the same names)."""
    if not outcomes:
        return
    session.execute(
        delete(RunArtifact).where(
            RunArtifact.run_id == run_id, RunArtifact.name.in_(list(outcomes))
        )
    )
    for name, o in outcomes.items():
        session.add(
            RunArtifact(
                run_id=run_id,
                name=name,
                other_run_id=other_run_id if (report_of(name) or ("", None))[1] else None,
                media_type=o.media_type,
                content=o.content,
                error_code=o.error_code,
                error=o.error,
                seconds=round(o.seconds, 4),
            )
        )


def _save_quietly(
    factory: sessionmaker[Session],
    run_id: str,
    outcomes: Mapping[str, Outcome],
    other_run_id: str | None = None,
) -> bool:
    """:func:`save` in its own transaction; ``False`` when the run (or the other run) was
    deleted meanwhile, or another process kept the same artifact first."""
    try:
        with session_scope(factory) as session:
            save(session, run_id, outcomes, other_run_id)
    except IntegrityError:
        return False
    return True


def build_run_artifacts(
    factory: sessionmaker[Session], run_id: str, mb: int | None = None
) -> float | None:
    """In a run's worker once its plan is stored: compute and keep the run's report,
    bottlenecks and summaries (:data:`RUN_ARTIFACTS`), each within ``mb`` MiB. Returns the
    seconds taken, or ``None`` when the run is no longer a succeeded run (deleted)."""
    t0 = time.perf_counter()
    with session_scope(factory) as session:
        run = session.get(Run, run_id)
        if run is None or run.status != "succeeded":
            return None
        inputs = load_inputs(session, run)
    outcomes = compute(inputs, RUN_ARTIFACTS, mb)
    del inputs
    if not _save_quietly(factory, run_id, outcomes):
        return None
    return time.perf_counter() - t0


def compute_in_process(
    database_url: str,
    run_id: str,
    name: str,
    other_run_id: str | None,
    parent_pid: int,
    mb: int | None = None,
) -> None:
    """A read worker's job: compute one missing artifact of a run and keep it (with the
    others computed on the way). Exits with an error if the run or dataset is gone."""
    from api.worker import _watch_parent

    _watch_parent(parent_pid)
    engine = make_engine(database_url)
    factory = make_sessionmaker(engine)
    try:
        with session_scope(factory) as session:
            run = session.get(Run, run_id)
            other = session.get(Run, other_run_id) if other_run_id is not None else None
            if run is None or (other_run_id is not None and other is None):
                raise LookupError(f"run {run_id} or {other_run_id} is gone")
            inputs = load_inputs(session, run, other)
        outcomes = compute(inputs, [name], mb)
        del inputs
        _save_quietly(factory, run_id, outcomes, other_run_id)
    finally:
        engine.dispose()


# ---- reading, in the server -------------------------------------------------------------


def busy(detail: str, wait: int = 5, code: str = "busy") -> ApiError:
    """A 503 asking to retry in ``wait`` seconds."""
    return ApiError(503, code, detail, headers={"Retry-After": str(wait)})


RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "schema": {"type": "integer", "minimum": 1},
    }
}


def busy_response() -> dict[int | str, dict[str, Any]]:
    """The OpenAPI entry of the 503 a read may answer."""
    from api.schemas import ErrorPublic

    return {
        503: {
            "model": ErrorPublic,
            "description": "The read has to be computed and as many reads are being "
            "computed as the server allows (or it failed or took too long): retry after "
            "the seconds in Retry-After",
            "headers": RETRY_AFTER,
        }
    }


class ReadPool:
    """Computes missing artifacts in worker processes, at most ``max_concurrent`` at once.

    Parameters
    ----------
    database_url
        The store, for the read workers.
    max_concurrent
        Read workers at once (setting ``max_concurrent_reads``); beyond, 503.
    time_limit
        Seconds a read worker may take (setting ``read_time_limit_s``); then it is stopped
        and the read gets 503.
    memory_mb
        Memory a read worker's computation may take (setting ``read_memory_mb``).
    """

    def __init__(
        self,
        database_url: str,
        max_concurrent: int,
        time_limit: float,
        memory_mb: int | None = None,
    ) -> None:
        self.database_url = database_url
        self.memory_mb = memory_mb
        self.max_concurrent = max_concurrent
        self.time_limit = time_limit
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self._lock = threading.Lock()
        self._inflight: dict[tuple[str, str], threading.Event] = {}
        self._ctx: Any = None

    def _context(self) -> Any:
        if self._ctx is None:
            from api.worker import _context

            self._ctx = _context()
        return self._ctx

    @property
    def active(self) -> int:
        """Read workers running now."""
        return len(self._inflight)

    def compute(self, run_id: str, name: str, other_run_id: str | None = None) -> None:
        """Compute artifact ``name`` of a run in a read worker and wait for it (or for
        the same computation already under way). Raises a 503 :class:`ApiError` when
        every slot is taken, or the worker fails or runs out of time."""
        key = (run_id, name)
        with self._lock:
            waiting = self._inflight.get(key)
            if waiting is None:
                if not self._slots.acquire(blocking=False):
                    raise busy(
                        Text(
                            N_(
                                "{n} expensive read(s) are being computed, as many as this "
                                "server computes at once; retry shortly"
                            ),
                            n=self.max_concurrent,
                        ),
                        code="too_many_reads",
                    )
                mine = threading.Event()
                self._inflight[key] = mine
        if waiting is not None:
            with _waiter():
                if not waiting.wait(WAIT_S):
                    raise _computing(name, run_id)
            return
        try:
            self._run(run_id, name, other_run_id)
        finally:
            with self._lock:
                del self._inflight[key]
            self._slots.release()
            mine.set()

    def _run(self, run_id: str, name: str, other_run_id: str | None) -> None:
        process = self._context().Process(
            target=compute_in_process,
            args=(self.database_url, run_id, name, other_run_id, os.getpid(), self.memory_mb),
            name=f"matcher-read-{run_id}",
            daemon=True,
        )
        process.start()
        process.join(self.time_limit)
        if process.is_alive():
            process.terminate()
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join(5)
            raise busy(
                Text(
                    N_("computing {name} of run {run} took more than {limit} s and was stopped"),
                    name=name,
                    run=run_id,
                    limit=f"{self.time_limit:g}",
                ),
                wait=60,
                code="read_time_limit",
            )
        if process.exitcode != 0:
            raise busy(
                Text(
                    N_("computing {name} of run {run} failed (exit code {code})"),
                    name=name,
                    run=run_id,
                    code=process.exitcode,
                ),
                wait=30,
                code="read_failed",
            )


_POOL_LOCK = threading.Lock()


def read_pool(request: Request) -> ReadPool:
    """The app's read pool (made on first use, from its settings)."""
    state = request.app.state
    with _POOL_LOCK:
        pool: ReadPool | None = getattr(state, "read_pool", None)
        if pool is None:
            settings = state.settings
            pool = ReadPool(
                settings.database_url,
                settings.max_concurrent_reads,
                settings.read_time_limit_s,
                settings.read_memory_mb,
            )
            state.read_pool = pool
    return pool


@dataclass(frozen=True)
class Artifact:
    """A kept artifact as a route answers it."""

    media_type: str
    content: bytes

    def json(self) -> Any:
        """The content as JSON."""
        return json.loads(self.content)


def _stored(factory: sessionmaker[Session], run_id: str, name: str) -> RunArtifact | None:
    with session_scope(factory) as session:
        row = session.get(RunArtifact, (run_id, name))
        if row is None or row.error_code == FAILED:
            return None
        session.expunge(row)
        return row


WAIT_S = 15.0
"""Seconds a read waits for an artifact another process is computing (the run's worker,
or a read worker asked by another request) before it answers 503 with Retry-After."""
MAX_WAITERS = 16
"""Reads waiting so at once (each holds a server thread); more get 503 at once."""
_WAITERS = threading.BoundedSemaphore(MAX_WAITERS)


@contextmanager
def _waiter() -> Iterator[None]:
    if not _WAITERS.acquire(blocking=False):
        raise busy(Text(N_("too many reads are waiting for reads being computed; retry shortly")))
    try:
        yield
    finally:
        _WAITERS.release()


def _computing(name: str, run_id: str) -> ApiError:
    return busy(
        Text(N_("{name} of run {run} is being computed; retry shortly"), name=name, run=run_id),
        5,
        "computing",
    )


def _waited(request: Request, run_id: str, name: str) -> RunArtifact | None:
    """While the run's worker is still computing its artifacts, look again every tenth
    of a second (it keeps them all at once), for at most :data:`WAIT_S`."""
    dispatcher = request.app.state.dispatcher
    building = getattr(dispatcher, "building", None)
    if building is None or name not in RUN_ARTIFACTS or not building(run_id):
        return None
    with _waiter():
        deadline = time.monotonic() + WAIT_S
        while building(run_id):
            if time.monotonic() > deadline:
                raise _computing(name, run_id)
            time.sleep(0.1)
            row = _stored(request.app.state.sessionmaker, run_id, name)
            if row is not None:
                return row
    return None


def read(request: Request, run_id: str, name: str, other_run_id: str | None = None) -> Artifact:
    """Artifact ``name`` of a (succeeded) run from the store; computed in a read worker
    first when missing. Raises the kept refusal (409), or a 503 when it cannot be
    computed now."""
    factory = request.app.state.sessionmaker
    row = _stored(factory, run_id, name) or _waited(request, run_id, name)
    if row is None:
        row = _stored(factory, run_id, name)
    if row is None:
        read_pool(request).compute(run_id, name, other_run_id)
        row = _stored(factory, run_id, name)
    if row is None:
        raise busy(
            Text(
                N_("{name} of run {run} could not be computed; retry later"), name=name, run=run_id
            ),
            30,
            "read_failed",
        )
    if row.error_code is not None:
        raise ApiError(409, row.error_code, row.error or "")
    return Artifact(row.media_type, row.content or b"")


def stored_names(session: Session, run_id: str) -> list[str]:
    """Names of the artifacts kept for a run (failed ones included)."""
    rows = session.execute(
        select(RunArtifact.name).where(RunArtifact.run_id == run_id).order_by(RunArtifact.name)
    ).scalars()
    return list(rows)


__all__ = [
    "BOTTLENECKS",
    "REPORT",
    "RUN_ARTIFACTS",
    "Artifact",
    "Inputs",
    "Outcome",
    "ReadPool",
    "against_name",
    "build_run_artifacts",
    "busy_response",
    "compute",
    "explanation_name",
    "load_inputs",
    "read",
    "report_name",
    "save",
    "stored_plan",
    "summaries_name",
]
