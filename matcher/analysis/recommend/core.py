"""What the tie recommenders share: a scope of communities, unit caps, the CP-SAT stage,
the before/after KPI table, the written result and the skeleton :func:`recommend`.

The recommenders themselves are :func:`matcher.analysis.recommend.pairings.recommend_pairings`
(dual registration: unit-community pairings) and
:func:`matcher.analysis.recommend.alliances.recommend_alliances` (street alliances of units and
enterprises). Both follow one skeleton, :func:`recommend`: the scope's communities, the kind's
candidates, the choice among them (small CP-SAT models, :func:`solve_stage`), then the
judgement: the dataset re-planned with the new ties and its plan compared with the one without
them (:func:`before_after`, kept apart so that a general plan comparison can replace it). Each
recommender gives only its own steps.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np
import pandas as pd
from ortools.sat.python import cp_model

from matcher.analysis.compare import KPIS
from matcher.errors import ParameterError
from matcher.i18n import N_, Text, Translator, translator
from matcher.inputs.dataset import Dataset, load_dataset
from matcher.inputs.io import write_frame_csv
from matcher.model.arcs import Problem
from matcher.params import PlanParams
from matcher.plans.planner import plan
from matcher.plans.result import Plan

__all__ = [
    "KPI_ROWS",
    "SCOPE_KEYS",
    "Judgement",
    "Scope",
    "TieResult",
    "before_after",
    "format_before_after",
    "recommend",
    "skill_matrix",
    "solve_stage",
    "unit_caps",
    "write_result",
]

SCOPE_KEYS = ("district", "street", "community_id")
"""Columns of ``communities.csv`` a scope may select on."""


@dataclass(frozen=True)
class Scope:
    """Which communities a recommendation concerns: all of them, or those whose
    ``district``, ``street`` or ``community_id`` is among the values given.

    Several keys must all hold (``district=Gulou`` and ``street=Dongjie``); several values
    of one key are alternatives.

    Attributes
    ----------
    filters
        ``(key, values)`` pairs; empty means every community. Default empty.
    """

    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def __post_init__(self) -> None:
        for key, values in self.filters:
            if key not in SCOPE_KEYS:
                raise ParameterError(
                    "scope", key, Text(N_("a scope on one of {keys}"), keys=", ".join(SCOPE_KEYS))
                )
            if not values or any(not v for v in values):
                raise ParameterError(
                    "scope", f"{key}=", Text(N_("one or more values, comma-separated"))
                )

    @classmethod
    def from_strings(cls, items: Iterable[str]) -> Scope:
        """Parse ``key=value[,value...]`` strings (``--scope district=Gulou,Taijiang``).

        Examples
        --------
        >>> Scope.from_strings(["district=Gulou,Taijiang"]).filters
        (('district', ('Gulou', 'Taijiang')),)
        """
        filters: list[tuple[str, tuple[str, ...]]] = []
        for item in items:
            key, sep, text = item.partition("=")
            if not sep:
                raise ParameterError("scope", item, Text(N_("key=value, e.g. district=Gulou")))
            values = tuple(v.strip() for v in text.split(","))
            filters.append((key.strip(), values))
        return cls(tuple(filters))

    def mask(self, communities: pd.DataFrame) -> np.ndarray:
        """Which rows of ``communities`` are in scope.

        Raises
        ------
        ParameterError
            If a value matches no community (a typo would otherwise select nothing).
        """
        keep = np.ones(len(communities), dtype=bool)
        for key, values in self.filters:
            column = communities[key].astype(str)
            for value in values:
                if not (column == value).any():
                    raise ParameterError(
                        "scope",
                        f"{key}={value}",
                        Text(N_("a {key} that some community in the dataset has"), key=key),
                    )
            keep &= column.isin(values).to_numpy(dtype=bool)
        return keep

    def text(self, lang: str = "en") -> str:
        """The scope in words, for reports, in ``lang`` (a filter is shown as written)."""
        _ = translator(lang)
        if not self.filters:
            return _("all communities")
        return "; ".join(f"{k}={','.join(v)}" for k, v in self.filters)


def unit_caps(dataset: Dataset, column: str, default: int) -> np.ndarray:
    """Per unit (file order), the most communities it may be paired with.

    The value of ``column`` in ``units.csv`` where given (an extra column; whole numbers,
    0 or more), else ``default``.

    Raises
    ------
    DatasetError
        Naming the file, row and column of a cell that is not a whole number >= 0.
    """
    from matcher.errors import DatasetError, ValidationIssue

    units = dataset.units
    caps = np.full(len(units), default, dtype=np.int64)
    if column not in units.columns:
        return caps
    issues = []
    for i, cell in enumerate(units[column].tolist()):
        text = "" if cell is None or (isinstance(cell, float) and np.isnan(cell)) else str(cell)
        text = text.strip()
        if not text:
            continue
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not np.isfinite(value) or value < 0 or value != int(value):
            issues.append(
                ValidationIssue(
                    dataset.files.get("units", "units.csv"),
                    i + 2,
                    column,
                    text,
                    Text(N_("a whole number of communities, 0 or more (empty: the default cap)")),
                )
            )
            continue
        caps[i] = int(value)
    if issues:
        raise DatasetError(issues, dataset.source)
    return caps


def skill_matrix(problem: Problem) -> np.ndarray:
    """Which supplier has which skill: a boolean (supplier x category) matrix of ``problem``.

    Examples
    --------
    >>> from matcher.model.arcs import build_problem
    >>> p = build_problem(load_dataset("tests/data/example/dataset"))
    >>> skill_matrix(p).shape == (len(p.suppliers), len(p.categories))
    True
    """
    s = problem.suppliers
    skill = np.zeros((len(s), len(problem.categories)), dtype=bool)
    owner = np.repeat(np.arange(len(s)), np.diff(s.skill_ptr))
    skill[owner, s.skill_cat] = True
    return skill


def solve_stage(
    model: cp_model.CpModel, time_limit_s: float, seed: int
) -> tuple[cp_model.CpSolver, Any]:
    """Solve a small CP-SAT model deterministically (one worker, fixed seed).

    The assignment and cover models are nearly totally unimodular: with the full LP
    relaxation (``linearization_level=2``) one worker proves them optimal at once, where
    the default level searches for a long time.
    """
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = 1
    solver.parameters.linearization_level = 2
    solver.parameters.random_seed = seed
    status = solver.solve(model)
    return solver, status


def _delta(before: Any, after: Any) -> Any:
    if before is None or after is None:
        return None
    return round(float(after) - float(before), 6)


_NOT_IN_BEFORE_AFTER = (
    "demands",
    "hours_available",
    "hours_used",
    "utilization",
    "suppliers",
    "suppliers_used",
    "candidate_arcs",
    "solver_status",
    "gap",
)

KPI_ROWS = tuple(key for key in KPIS if key not in _NOT_IN_BEFORE_AFTER)
"""The plan KPIs the before/after table compares, in its order: those of
:data:`matcher.analysis.compare.KPIS` on the plan's outcome (not the demand count, the
supply side or the solver's figures)."""


def before_after(before: Plan, after: Plan) -> pd.DataFrame:
    """The plan without the recommended ties against the plan with them.

    One row per KPI of :data:`KPI_ROWS` (district ``""``), then hours covered and coverage
    per district.

    Returns
    -------
    DataFrame
        ``kpi, district, before, after, change``.
    """
    rows: list[dict[str, Any]] = []
    for key in KPI_ROWS:
        b, a = before.kpis.get(key), after.kpis.get(key)
        rows.append({"kpi": key, "district": "", "before": b, "after": a, "change": _delta(b, a)})
    bd, ad = before.kpis["coverage_by_district"], after.kpis["coverage_by_district"]
    for district in sorted(set(bd) | set(ad)):
        for key in ("hours_covered", "coverage"):
            b = bd.get(district, {}).get(key)
            a = ad.get(district, {}).get(key)
            rows.append(
                {"kpi": key, "district": district, "before": b, "after": a, "change": _delta(b, a)}
            )
    return pd.DataFrame(rows, columns=["kpi", "district", "before", "after", "change"])


def format_before_after(table: pd.DataFrame, lang: str = "en") -> str:
    """The overall rows of a :func:`before_after` table as aligned text, headed in
    ``lang`` (the indicators keep their names, as the table's ``kpi`` column has them)."""
    _ = translator(lang)
    head = (_("kpi"), _("before"), _("after"), _("change"))
    lines = [f"  {head[0]:<32} {head[1]:>14} {head[2]:>14} {head[3]:>12}"]
    for row in table[table["district"] == ""].itertuples(index=False):
        lines.append(
            f"  {row.kpi:<32} {_num(row.before):>14} {_num(row.after):>14} {_num(row.change):>12}"
        )
    return "\n".join(lines)


def _num(x: Any) -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "n/a"
    if isinstance(x, int | np.integer):
        return f"{int(x):,}"
    return f"{float(x):,.4f}"


def write_result(
    out_dir: str | Path,
    tables: Iterable[tuple[str, pd.DataFrame]],
    summary_name: str,
    summary: dict[str, Any],
) -> list[Path]:
    """Write a recommendation's tables (CSV) and its summary (JSON) into a folder."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, frame in tables:
        write_frame_csv(frame, out / name)
        paths.append(out / name)
    path = out / summary_name
    path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return [*paths, path]


@dataclass(frozen=True)
class TieResult:
    """What every tie recommendation's result has: the plans that judge it, their
    comparison and the summary; each kind adds its own tables (:attr:`files`) and lines
    of text (:meth:`lines`).

    Attributes
    ----------
    comparison
        :func:`before_after` of the plans without and with the recommended ties.
    summary
        JSON-ready figures (:meth:`Judgement.summary`).
    dataset
        The dataset with the recommended ties (validated), ready to plan.
    before, after
        The plans without and with them.
    """

    comparison: pd.DataFrame
    summary: dict[str, Any]
    dataset: Dataset = field(repr=False)
    before: Plan = field(repr=False)
    after: Plan = field(repr=False)

    files: ClassVar[tuple[tuple[str, str], ...]]
    """The CSV files :meth:`write` writes, in order, each with the attribute holding its
    table."""
    summary_name: ClassVar[str]
    """The JSON file :meth:`write` writes the summary to."""

    @property
    def gain(self) -> float:
        """The true gain of the whole set: the plan's objective after minus before."""
        return float(self.after.objective - self.before.objective)

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write the tables of :attr:`files` (CSV) and the summary (JSON,
        :attr:`summary_name`) into ``out_dir``; return the paths written."""
        tables = [(name, getattr(self, attribute)) for name, attribute in self.files]
        return write_result(out_dir, tables, self.summary_name, self.summary)

    def text(self, lang: str = "en") -> str:
        """A few lines for people, in ``lang``: the kind's own (:meth:`lines`), then the
        before/after table."""
        _ = translator(lang)
        lines = [*self.lines(_), _("Before/after:"), format_before_after(self.comparison, lang)]
        return "\n".join(lines)

    def lines(self, _: Translator) -> list[str]:
        """The kind's lines of :meth:`text`, translated by ``_``."""
        raise NotImplementedError

    def scope_text(self, _: Translator) -> str:
        """The summary's scope for people: the summary keeps it in English (it is data);
        "all communities" is a phrase, translated by ``_``."""
        scope = str(self.summary["scope"])
        return scope if scope != Scope().text() else _("all communities")


_Prepared = TypeVar("_Prepared")
_Found = TypeVar("_Found")
_Chosen = TypeVar("_Chosen")


@dataclass(frozen=True)
class Judgement:
    """What :func:`recommend` finds out about a recommendation: the plans without and with
    its ties.

    Attributes
    ----------
    dataset
        The dataset as given.
    with_ties
        The dataset with the recommended ties.
    before, after
        Their plans.
    seconds
        Wall seconds of the kind's two stages (named by it) and of the re-plan.
    """

    dataset: Dataset
    with_ties: Dataset
    before: Plan
    after: Plan
    seconds: dict[str, float]

    def comparison(self) -> pd.DataFrame:
        """:func:`before_after` of the two plans."""
        return before_after(self.before, self.after)

    def summary(
        self,
        scope: Scope,
        figures: dict[str, Any],
        params: dict[str, Any],
        plan_params: PlanParams,
        after_gain: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A recommendation's JSON-ready summary: the dataset and scope, the kind's
        ``figures``, the objectives before and after and the gain, ``after_gain``, the
        parameters and the seconds."""
        return {
            "dataset": self.dataset.source,
            "dataset_hash": self.dataset.content_hash,
            "scope": scope.text(),
            **figures,
            "objective_before": round(self.before.objective, 6),
            "objective_after": round(self.after.objective, 6),
            "gain": round(self.after.objective - self.before.objective, 6),
            **(after_gain or {}),
            "params": params,
            "plan_params": plan_params.to_dict(),
            "seconds": self.seconds,
        }


def recommend(
    dataset: Dataset | str | Path,
    scope: Scope,
    plan_params: PlanParams,
    *,
    prepare: Callable[[Dataset, np.ndarray], _Prepared],
    find: Callable[[_Prepared, Plan], _Found],
    choose: Callable[[_Found], _Chosen],
    with_ties: Callable[[_Chosen], Dataset],
    stages: tuple[str, str],
) -> tuple[_Chosen, Judgement]:
    """The skeleton of a tie recommender, given the kind's steps.

    The dataset is loaded (when a folder is given) and the scope's communities selected;
    then ``prepare(dataset, scope_mask)`` (checks and the ties that stay, before any
    solve), the plan without new ties, ``find(prepared, before)`` (the candidates and
    what each is worth), ``choose(found)`` (the ties to make), ``with_ties(chosen)``
    (the dataset with them) and its plan. ``stages`` names the seconds of ``find`` and
    ``choose`` in :attr:`Judgement.seconds`.

    Returns
    -------
    (chosen, judgement)
        What ``choose`` returned, and the plans that judge it.

    Examples
    --------
    >>> chosen, j = recommend("tests/data/example/dataset", Scope(), PlanParams(),
    ...     prepare=lambda ds, mask: ds, find=lambda ds, before: ds, choose=lambda ds: ds,
    ...     with_ties=lambda ds: ds, stages=("find", "choose"))
    >>> j.after.objective == j.before.objective, sorted(j.seconds)
    (True, ['choose', 'find', 'replan'])
    """
    ds = dataset if isinstance(dataset, Dataset) else load_dataset(dataset)
    t0 = time.perf_counter()
    scope_mask = scope.mask(ds.communities)
    prepared = prepare(ds, scope_mask)
    before = plan(ds, plan_params)
    found = find(prepared, before)
    t1 = time.perf_counter()
    chosen = choose(found)
    t2 = time.perf_counter()
    after_ds = with_ties(chosen)
    after = plan(after_ds, plan_params)
    t3 = time.perf_counter()
    seconds = {
        stages[0]: round(t1 - t0, 4),
        stages[1]: round(t2 - t1, 4),
        "replan": round(t3 - t2, 4),
    }
    return chosen, Judgement(ds, after_ds, before, after, seconds)
