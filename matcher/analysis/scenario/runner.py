"""Running scenarios: one plan per scenario, and batches of scenario files compared.

A batch runs each scenario in its own process (``engine="local"``) or as a Ray task
(``engine="ray"``); Ray pickles the task :func:`_run_file` by its module path, so it stays
a module-level function here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matcher.analysis.scenario.changes import scenario_dataset, scenario_params
from matcher.analysis.scenario.schema import Scenario, load_scenario
from matcher.errors import MatcherError, ParameterError, ScenarioError
from matcher.i18n import N_, SOURCE_LANG, Text, translator
from matcher.inputs.dataset import Dataset
from matcher.params import PlanParams
from matcher.plans.result import Plan
from matcher.solvers.outcomes import Duals
from matcher.solvers.parts import ray_session

__all__ = ["ScenarioOutcome", "run_scenario", "run_scenarios"]


def run_scenario(
    scenario: Scenario,
    dataset: Dataset | None = None,
    params: PlanParams | None = None,
    warm_start: Duals | None = None,
) -> Plan:
    """Apply a scenario and plan it (stably against ``stable.previous`` when given).

    Parameters
    ----------
    scenario
        The scenario.
    dataset
        The dataset to change (default: the scenario's ``base``).
    params
        Base run parameters; the scenario's ``set`` changes apply on top.
    warm_start
        LP duals of a similar plan to start the column solver from (see
        :func:`matcher.plans.planner.plan`); a stable re-plan ignores them.
    """
    from matcher.analysis.replan import replan
    from matcher.plans.planner import plan

    ds = scenario_dataset(scenario, dataset)
    run_params = scenario_params(scenario, params)
    if scenario.stable is None:
        return plan(ds, run_params, warm_start=warm_start)
    return replan(
        ds,
        scenario.stable.previous,
        run_params,
        change_penalty=scenario.stable.change_penalty,
        pinned=scenario.stable.pinned,
    )


@dataclass(frozen=True)
class ScenarioOutcome:
    """One scenario of a batch: where its plan went, or why it failed.

    Attributes
    ----------
    name, source
        The scenario's name and file.
    out_dir
        Its plan folder (``None`` when it failed).
    error
        The message when it failed, else ``""``.
    summary
        Solver status, objective, coverage and wall seconds.
    """

    name: str
    source: str
    out_dir: Path | None
    error: str = ""
    summary: Mapping[str, Any] = field(default_factory=dict)


def _message(exc: MatcherError) -> str:
    """An error's message to carry across processes: a :class:`Text` when it is one (it
    pickles with its values), so that it can still be shown in the reader's language."""
    first = exc.args[0] if len(exc.args) == 1 else None
    if isinstance(first, Text):
        return first
    if isinstance(exc, ParameterError):
        return Text(
            N_("parameter {name}={value}: expected {expected}"),
            name=exc.name,
            value=repr(exc.value),
            expected=exc.expected,
        )
    return str(exc)


def _run_file(
    path: str, out_dir: str, params: PlanParams | None, warm_start: Duals | None = None
) -> ScenarioOutcome:
    """Run one scenario file into ``out_dir/<name>`` (a process pool's task)."""
    return _run_file_keeping(path, out_dir, params, warm_start)[0]


def _run_file_keeping(
    path: str, out_dir: str, params: PlanParams | None, warm_start: Duals | None = None
) -> tuple[ScenarioOutcome, Duals | None]:
    """:func:`_run_file`, and the plan's LP duals (``None`` if it failed or has none)."""
    import time

    start = time.perf_counter()
    scenario = load_scenario(path)
    folder = Path(out_dir) / scenario.name
    try:
        result = run_scenario(scenario, params=params, warm_start=warm_start)
    except MatcherError as exc:
        # Messages cross the process boundary, not exception objects.
        return ScenarioOutcome(scenario.name, path, None, error=_message(exc)), None
    result.write(folder)
    described = {
        "name": scenario.name,
        "source": path,
        "description": scenario.description,
        "base": None if scenario.base is None else str(scenario.base),
        "changes": [dict(c.spec) for c in scenario.changes],
        "params": result.params.to_dict(),
    }
    (folder / "scenario.json").write_text(
        json.dumps(described, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    k = result.kpis
    outcome = ScenarioOutcome(
        scenario.name,
        path,
        folder,
        summary={
            "status": k["solver_status"],
            "objective": k["objective"],
            "coverage": k["coverage"],
            "seconds": round(time.perf_counter() - start, 3),
            # Started from the duals: asked to, and planned by the column solver.
            "warm_start": warm_start is not None and result.duals is not None,
        },
    )
    return outcome, result.duals


def _ray_map(
    calls: list[tuple[str, str, PlanParams | None, Duals | None]], jobs: int, address: str | None
) -> Iterator[tuple[int, ScenarioOutcome]]:
    """Run ``_run_file`` on each call as a Ray task; yield (index, outcome) as they end.

    Ray is started, reused or reached as :func:`matcher.solvers.parts.ray_session` says.
    """
    with ray_session(address, jobs) as ray:
        task = ray.remote(num_cpus=1)(_run_file)
        refs = {task.remote(*call): i for i, call in enumerate(calls)}
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                yield refs[ref], ray.get(ref)


def run_scenarios(
    paths: Sequence[str | Path],
    out_dir: str | Path,
    *,
    jobs: int = 1,
    params: PlanParams | None = None,
    progress: Any = None,
    engine: str = "local",
    ray_address: str | None = None,
    warm_start: bool = False,
    lang: str = SOURCE_LANG,
) -> tuple[list[ScenarioOutcome], Any]:
    """Run many scenario files, in parallel processes, and compare their plans.

    Every file is read and checked first, so a mistake stops the batch before any
    solve. Each plan goes to ``out_dir/<scenario name>/`` (with a ``scenario.json``);
    the comparison (against the first scenario) to ``out_dir/comparison.*``. Plans do
    not depend on ``jobs``: each scenario is solved exactly in its own process.

    Parameters
    ----------
    paths
        Scenario files; names must differ.
    out_dir
        The output folder.
    jobs
        Processes to use (1: in this process).
    params
        Base run parameters for every scenario.
    progress
        A callable given one line of text as each scenario finishes (or ``None``).
    engine
        ``"local"`` (processes of this machine) or ``"ray"``: each scenario a Ray task,
        on a local Ray instance of ``jobs`` CPUs, or on the cluster at ``ray_address``
        (or ``RAY_ADDRESS``). With a cluster, the scenario files, their datasets and
        ``out_dir`` must be on a filesystem every node sees. The plans are the same.
    ray_address
        A running Ray cluster's address (``ray://host:10001`` or ``host:6379``).
    warm_start
        Plan the first scenario first, in this process, and start the column solver of
        every other from its LP duals (:func:`matcher.plans.planner.plan`, ``warm_start``): at
        city scale, well under half the time for scenarios that change a district or a
        tenth of the cadres. Every plan is optimal either way; where a scenario's optimum
        is not unique its plan may be another optimal one than without (the same on
        every run). If the first scenario fails, the others start cold.
    lang
        The language of the ``progress`` lines (and of a failed scenario's message
        there). Default English.

    Returns
    -------
    (outcomes, comparison)
        One outcome per file, in the given order, and the
        :class:`~matcher.analysis.compare.Comparison` of the plans that succeeded (``None`` if
        none did).

    Raises
    ------
    ScenarioError
        A file that does not read or check, or two scenarios with one name.
    """
    from matcher.analysis.compare import compare_plans

    if jobs < 1:
        raise ParameterError("jobs", jobs, Text(N_("a whole number, 1 or more")))
    if engine not in ("local", "ray"):
        raise ParameterError("engine", engine, Text(N_("local or ray")))
    scenarios = _load_batch(paths)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results: dict[int, ScenarioOutcome] = {}

    def report(i: int, outcome: ScenarioOutcome) -> None:
        results[i] = outcome
        if progress is not None:
            progress(_progress_line(outcome, len(results), len(scenarios), lang))

    duals: Duals | None = None
    first = 0
    if warm_start:
        outcome, duals = _run_file_keeping(scenarios[0].source, str(out), params)
        report(0, outcome)
        first = 1
    rest = [(i, sc.source) for i, sc in enumerate(scenarios)][first:]
    _run_rest(rest, out, params, duals, report, jobs=jobs, engine=engine, ray_address=ray_address)
    outcomes = [results[i] for i in range(len(scenarios))]
    done = [o for o in outcomes if o.out_dir is not None]
    comparison = None
    if done:
        comparison = compare_plans(
            [o.out_dir for o in done if o.out_dir is not None], names=[o.name for o in done]
        )
        comparison.write(out)
    return outcomes, comparison


def _load_batch(paths: Sequence[str | Path]) -> list[Scenario]:
    """Read and check every scenario file of a batch, before any solve.

    Raises
    ------
    ScenarioError
        A file that does not read or check, or two scenarios with one name.
    """
    scenarios = [load_scenario(p) for p in paths]
    names: dict[str, str] = {}
    for sc in scenarios:
        if sc.name in names:
            raise ScenarioError(
                sc.source,
                Text(
                    N_(
                        "the name {name} is also used by {other}; names must differ (they "
                        "name the plan folders)"
                    ),
                    name=repr(sc.name),
                    other=names[sc.name],
                ),
                field="name",
            )
        names[sc.name] = sc.source
    return scenarios


def _progress_line(outcome: ScenarioOutcome, done: int, total: int, lang: str) -> str:
    """The ``progress`` line of a finished scenario, in ``lang``."""
    _ = translator(lang)
    head = f"[{done}/{total}] {outcome.name}"
    if outcome.error:
        error = outcome.error
        error = error.render(lang) if isinstance(error, Text) else error
        return _("{done}: failed: {error}").format(done=head, error=error)
    s = outcome.summary
    cov = _("n/a") if s["coverage"] is None else f"{100 * s['coverage']:.1f}%"
    return _("{done}: {status}, objective {objective}, coverage {coverage} ({seconds} s)").format(
        done=head,
        status=s["status"],
        objective=f"{s['objective']:,.4f}",
        coverage=cov,
        seconds=f"{s['seconds']:.2f}",
    )


def _run_rest(
    rest: list[tuple[int, str]],
    out: Path,
    params: PlanParams | None,
    duals: Duals | None,
    report: Callable[[int, ScenarioOutcome], None],
    *,
    jobs: int,
    engine: str,
    ray_address: str | None,
) -> None:
    """Run the files of ``rest`` (index, path) as Ray tasks, in this process or in a pool
    of processes, and ``report`` each outcome as it ends."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    if engine == "ray" and rest:
        calls = [(path, str(out.resolve()), params, duals) for _, path in rest]
        for j, outcome in _ray_map(calls, jobs, ray_address):
            report(rest[j][0], outcome)
    elif jobs == 1 or len(rest) <= 1:
        for i, path in rest:
            report(i, _run_file(path, str(out), params, duals))
    else:
        # spawn: workers import matcher afresh, sharing no state with this process.
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(jobs, len(rest)), mp_context=ctx) as pool:
            futures = {pool.submit(_run_file, path, str(out), params, duals): i for i, path in rest}
            for future in as_completed(futures):
                report(futures[future], future.result())
