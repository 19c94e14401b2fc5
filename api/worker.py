"""Execution: a dispatcher thread that runs each queued run in its own worker process.

The dispatcher (a thread in the server process) claims queued runs with an atomic
``UPDATE ... WHERE status = 'queued'``, starts one process per run (``forkserver``
context, ``matcher`` preloaded) up to ``max_concurrent_runs``, and stops a process when
its run is cancelled or passes its time limit. The worker loads the dataset from the
store, calls :func:`matcher.plan` and writes the plan in one transaction, and only if
the run is still ``running`` under the worker's claim token. A worker whose server
dies exits by itself. On startup, runs left ``running`` by a stopped server are marked
``failed`` (:data:`INTERRUPTED`).

While it plans, the worker keeps the run's latest progress
(:class:`matcher.progress.Progress`, as a dict) in ``runs.progress``, at most about once
a second (:data:`PROGRESS_EVERY_S`) plus each new stage; ``GET /runs/{id}`` shows it,
and the last one (the ``tables`` stage, with the solver's objective and bound) stays.

Once the plan is stored (the run has succeeded), the worker goes on to compute the run's
expensive reads, its report, bottlenecks and summaries, and keeps them in the store
(:mod:`api.artifacts`); the dispatcher leaves it its slot for that, for at most
``read_time_limit_s``, and the server never computes them itself.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, replace
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from api.db.models import Run, utcnow
from api.db.session import make_engine, make_sessionmaker, rowcount, session_scope

if TYPE_CHECKING:
    from matcher.progress import Progress

__all__ = [
    "INTERRUPTED",
    "PROGRESS_EVERY_S",
    "Dispatcher",
    "ProgressWriter",
    "internal_error",
    "mark_interrupted",
    "run_in_worker",
    "time_limit_error",
]

log = logging.getLogger("matcher.api.worker")

INTERRUPTED = "interrupted: the server stopped while this run was in progress"

PROGRESS_EVERY_S = 1.0
"""Least seconds between two writes of a run's progress within one stage (a new stage
is written at once): a poller sees it move, the store sees a write a second at most."""


def time_limit_error(seconds: float) -> str:
    """The error of a run stopped by its time limit."""
    return f"time limit exceeded: the run was stopped after {seconds:g} s"


def internal_error(reference: str) -> str:
    """The error of a run that failed unexpectedly: plain words and a reference to the
    server log, never the exception's text (it can hold object reprs, paths or SQL)."""
    return f"internal error while planning; see the server log (reference {reference})"


def mark_interrupted(engine: Engine) -> int:
    """Mark runs left ``running`` (by a server that stopped) as failed; returns how many."""
    with engine.begin() as conn:
        result = conn.execute(
            update(Run)
            .where(Run.status == "running")
            .values(status="failed", error=INTERRUPTED, finished_at=utcnow(), claim_token=None)
        )
        return rowcount(result)


def _context() -> Any:
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(["matcher", "api.worker", "api.artifacts", "api.uploads"])
    return ctx


def _watch_parent(parent: int) -> None:
    """Exit the worker as soon as the server process that started it is gone."""

    def watch() -> None:
        while True:
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                os._exit(3)
            except PermissionError:
                pass
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


class ProgressWriter:
    """The progress callback of a worker: writes the latest :class:`Progress` of its run
    into ``runs.progress`` (:data:`PROGRESS_EVERY_S`), only while the run is still
    ``running`` under its claim.

    Its seconds count from ``start`` (a ``time.perf_counter()`` value: the worker's
    start, so loading the dataset counts). A write that fails is logged and the plan goes
    on: progress is for people watching, and never fails a run.
    """

    def __init__(
        self, factory: sessionmaker[Session], run_id: str, claim_token: str, start: float
    ) -> None:
        self.factory, self.run_id, self.claim_token, self.start = (
            factory,
            run_id,
            claim_token,
            start,
        )
        self._written_at = -float("inf")
        self._stage: str | None = None

    def __call__(self, progress: Progress) -> None:
        """Write ``progress`` (its seconds from the worker's start), unless the last
        write of the same stage was less than :data:`PROGRESS_EVERY_S` ago."""
        now = time.perf_counter()
        if progress.stage == self._stage and now - self._written_at < PROGRESS_EVERY_S:
            return
        self._stage, self._written_at = progress.stage, now
        value = replace(progress, elapsed_s=round(now - self.start, 3)).to_dict()
        try:
            with session_scope(self.factory) as session:
                session.execute(
                    update(Run)
                    .where(
                        Run.id == self.run_id,
                        Run.status == "running",
                        Run.claim_token == self.claim_token,
                    )
                    .values(progress=value)
                )
        except Exception:
            log.exception("run %s: its progress could not be written", self.run_id)


def run_in_worker(
    database_url: str,
    run_id: str,
    claim_token: str,
    parent_pid: int,
    solve_engine: str = "local",
    ray_address: str | None = None,
    read_memory_mb: int | None = None,
) -> None:
    """The worker process's job: plan one run and store the plan (or, for a
    recommendation run, recommend and store the recommendation).

    Parameters
    ----------
    database_url
        The store.
    run_id, claim_token
        The run, and the token the dispatcher claimed it with.
    parent_pid
        The server's process id; the worker exits when it is gone.
    solve_engine, ray_address
        Where the plan's labour flow is solved (settings ``engine`` and ``ray_address``);
        see :func:`matcher.plan`.
    read_memory_mb
        Memory the run's reads may take once the plan is stored (:mod:`api.artifacts`).
    """
    _watch_parent(parent_pid)
    import matcher
    from api import store

    engine = make_engine(database_url)
    factory = make_sessionmaker(engine)
    t0 = time.perf_counter()
    progress = ProgressWriter(factory, run_id, claim_token, t0)
    try:
        from matcher.progress import Progress

        with session_scope(factory) as session:
            kind = session.execute(select(Run.kind).where(Run.id == run_id)).scalar_one_or_none()
        if kind == "plan":  # recommendations report no progress (their runs keep it null)
            progress(Progress("load", 0.0))
        with session_scope(factory) as session:
            run = session.get(Run, run_id)
            if run is None or run.status != "running" or run.claim_token != claim_token:
                return
            params = matcher.PlanParams.from_mapping(run.params)
            dataset = store.load_dataset(session, run.dataset_id)
            kind = run.kind
            start = (
                store.load_duals(session, run.warm_start_run_id)
                if run.warm_start_run_id is not None
                else None
            )
        t_load = time.perf_counter() - t0
        if kind != "plan":  # a pairing or alliance recommendation
            from api.recommend import run_recommendation

            run_recommendation(factory, run_id, claim_token, dataset, params, t_load)
            return
        result = matcher.plan(
            dataset,
            params,
            engine=solve_engine,
            ray_address=ray_address,
            jobs=os.cpu_count() or 1,
            warm_start=start,
            progress=progress,
        )
        timings = {"load": t_load, **result.timings}
        t1 = time.perf_counter()
        with session_scope(factory) as session:
            stored = store.save_plan(session, run_id, claim_token, result, dataset, timings)
            if stored:
                session.execute(
                    update(Run)
                    .where(Run.id == run_id)
                    .values(
                        timings={
                            **{k: round(v, 4) for k, v in timings.items()},
                            "store": round(time.perf_counter() - t1, 4),
                        }
                    )
                )
        if stored:
            del result, dataset, start  # the reads start from the stored plan, not these
            _build_artifacts(factory, run_id, read_memory_mb)
    except Exception as exc:  # the run fails with the reason; the server carries on
        known = isinstance(exc, matcher.MatcherError)  # e.g. contradictory integer rules
        # Only the planner's own diagnoses reach the run; the details of anything else
        # stay in the log, under a reference the run's error names.
        reference = uuid.uuid4().hex[:12]
        message = str(exc) if known else internal_error(reference)
        detail = str(exc) if known else f"{type(exc).__name__}: {exc}"
        log.error(
            "run %s failed (reference %s): %s\n%s",
            run_id,
            reference,
            detail,
            traceback.format_exc(),
        )
        # A contradiction's diagnosis is also kept as data: the rows at fault, by rule.
        findings = getattr(exc, "findings", None) if known else None
        kpis = {"diagnosis": [f.to_dict() for f in findings]} if findings else None
        with session_scope(factory) as session:
            session.execute(
                update(Run)
                .where(Run.id == run_id, Run.status == "running", Run.claim_token == claim_token)
                .values(status="failed", error=message[:4000], finished_at=utcnow(), kpis=kpis)
            )
    finally:
        engine.dispose()


def _build_artifacts(factory: sessionmaker[Session], run_id: str, mb: int | None) -> None:
    """After the plan is stored (the run has succeeded): compute and keep its report,
    bottlenecks and summaries (:mod:`api.artifacts`), and add the seconds to its timings.
    A failure here is logged and leaves the run as it is: its reads compute what is
    missing on first read."""
    from api.artifacts import build_run_artifacts

    try:
        seconds = build_run_artifacts(factory, run_id, mb)
        if seconds is None:
            return
        with session_scope(factory) as session:
            run = session.get(Run, run_id)
            if run is not None:
                run.timings = {**(run.timings or {}), "artifacts": round(seconds, 4)}
    except Exception:
        log.exception("the reads of run %s could not be computed", run_id)


@dataclass
class _Job:
    run_id: str
    token: str
    process: BaseProcess
    started: float
    limit: float
    stored_at: float | None = None  # when its plan was stored (the artifacts follow)


class Dispatcher:
    """Claims queued runs and runs each in its own worker process.

    Parameters
    ----------
    engine
        The store's engine (the server's).
    database_url
        The store's URL, for the workers.
    max_concurrent
        Worker processes at once.
    default_limit
        Time limit (s) for runs that did not ask for one.
    interval
        Seconds between looks at the queue.
    solve_engine, ray_address
        Where workers solve plans' labour flows (settings ``engine``, ``ray_address``).
    artifact_limit
        Seconds a worker may go on computing its run's reads once the plan is stored
        (setting ``read_time_limit_s``; the setting's default when ``None``).
    read_memory_mb
        What the worker's reads may allocate (setting ``read_memory_mb``; the setting's
        default when ``None``).
    """

    def __init__(
        self,
        engine: Engine,
        database_url: str,
        max_concurrent: int,
        default_limit: float,
        interval: float = 0.2,
        solve_engine: str = "local",
        ray_address: str | None = None,
        artifact_limit: float | None = None,
        read_memory_mb: int | None = None,
    ) -> None:
        from api.settings import Settings

        fields = Settings.model_fields
        self.artifact_limit = float(artifact_limit or fields["read_time_limit_s"].default)
        self.read_memory_mb = int(read_memory_mb or fields["read_memory_mb"].default)
        self.engine = engine
        self.factory = make_sessionmaker(engine)
        self.database_url = database_url
        self.max_concurrent = max_concurrent
        self.default_limit = default_limit
        self.interval = interval
        self.solve_engine = solve_engine
        self.ray_address = ray_address
        self.jobs: dict[str, _Job] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._ctx = _context()

    def start(self) -> None:
        """Start the dispatcher thread."""
        self._thread = threading.Thread(target=self._loop, daemon=True, name="run-dispatcher")
        self._thread.start()

    def wake(self) -> None:
        """Look at the queue now (after a run was queued or cancelled)."""
        self._wake.set()

    def stop(self) -> None:
        """Stop the thread and the workers; their runs are marked failed (interrupted)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for job in list(self.jobs.values()):
            self._kill(job)
            self._finish(job, "failed", INTERRUPTED)
        self.jobs.clear()

    def building(self, run_id: str) -> bool:
        """Whether the run's worker is still at work: solving, or (the run succeeded)
        computing the run's report and explanations."""
        return run_id in self.jobs

    def stats(self) -> dict[str, Any]:
        """Worker processes alive now."""
        return {"workers": len(self.jobs), "max_concurrent_runs": self.max_concurrent}

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # keep dispatching through a database hiccup
                log.exception("dispatcher tick failed")
            self._wake.wait(self.interval)
            self._wake.clear()

    def tick(self) -> None:
        """One pass: reap finished workers, enforce cancels and limits, start queued runs."""
        if self.jobs:
            with session_scope(self.factory) as session:
                rows = session.execute(
                    select(Run.id, Run.status, Run.claim_token).where(Run.id.in_(list(self.jobs)))
                ).all()
            current = {r.id: (r.status, r.claim_token) for r in rows}
            now = time.monotonic()
            for run_id, job in list(self.jobs.items()):
                status, token = current.get(run_id, ("deleted", None))
                if status == "succeeded" and token == job.token and job.process.is_alive():
                    # The plan is stored; the worker goes on with the run's reads (report,
                    # explanations), in its slot, for at most artifact_limit seconds.
                    job.stored_at = now if job.stored_at is None else job.stored_at
                    if now - job.stored_at > self.artifact_limit:
                        log.error("run %s: its reads took too long; stopped", run_id)
                        self._kill(job)
                        del self.jobs[run_id]
                    continue
                if status != "running" or token != job.token:
                    self._kill(job)  # cancelled, or finished by the worker
                    del self.jobs[run_id]
                elif not job.process.is_alive():
                    code = job.process.exitcode
                    self._finish(
                        job, "failed", f"the worker process ended unexpectedly (exit code {code})"
                    )
                    del self.jobs[run_id]
                elif now - job.started > job.limit:
                    self._kill(job)
                    self._finish(job, "failed", time_limit_error(job.limit))
                    del self.jobs[run_id]
        while len(self.jobs) < self.max_concurrent and not self._stop.is_set():
            if not self._claim_and_start():
                break

    def _claim_and_start(self) -> bool:
        with session_scope(self.factory) as session:
            run_id = session.execute(
                select(Run.id)
                .where(Run.status == "queued")
                .order_by(Run.created_at, Run.id)
                .limit(1)
            ).scalar_one_or_none()
            if run_id is None:
                return False
            token = uuid.uuid4().hex
            claimed = session.execute(
                update(Run)
                .where(Run.id == run_id, Run.status == "queued")
                .values(status="running", started_at=utcnow(), claim_token=token)
            )
            if rowcount(claimed) != 1:
                return True  # someone else took it; look again
            limit = session.execute(select(Run.time_limit_s).where(Run.id == run_id)).scalar_one()
        process = self._ctx.Process(
            target=run_in_worker,
            args=(
                self.database_url,
                run_id,
                token,
                os.getpid(),
                self.solve_engine,
                self.ray_address,
                self.read_memory_mb,
            ),
            name=f"matcher-run-{run_id}",
            daemon=True,
        )
        try:
            process.start()
        except Exception as exc:
            job = _Job(run_id, token, process, time.monotonic(), limit)
            self._finish(job, "failed", f"the worker process could not start ({exc})")
            return True
        with session_scope(self.factory) as session:
            session.execute(
                update(Run)
                .where(Run.id == run_id, Run.claim_token == token)
                .values(worker_pid=process.pid)
            )
        self.jobs[run_id] = _Job(
            run_id, token, process, time.monotonic(), float(limit or self.default_limit)
        )
        return True

    def _kill(self, job: _Job) -> None:
        if job.process.is_alive():
            job.process.terminate()
            job.process.join(timeout=5)
            if job.process.is_alive():
                job.process.kill()
                job.process.join(timeout=5)

    def _finish(self, job: _Job, status: str, error: str) -> None:
        with session_scope(self.factory) as session:
            session.execute(
                update(Run)
                .where(Run.id == job.run_id, Run.status == "running", Run.claim_token == job.token)
                .values(status=status, error=error, finished_at=utcnow())
            )
