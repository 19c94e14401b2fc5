"""Reading a plan folder back, with every check, and finding the dataset it was made from.

:meth:`Plan.write <matcher.plans.result.Plan.write>` writes a plan folder;
:func:`read_plan` is its one reader: the report, explanations, comparisons, re-planning,
the project list and the command line all read plans through it.

>>> import tempfile, matcher
>>> out = tempfile.mkdtemp()
>>> _ = matcher.plan("tests/data/example/dataset").write(out)
>>> p = read_plan(out, label="example")
>>> p.label, p.status, int(p.assignments["hours"].sum()), p.kpis["hours_covered"]
('example', 'optimal', 40, 40)
>>> plan_dataset(p).content_hash == p.dataset_hash
True
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from matcher.csvsafe import restore_formulas
from matcher.errors import ParameterError, PlanFolderError
from matcher.i18n import N_, Text
from matcher.inputs.dataset import Dataset, load_dataset
from matcher.plans.result import Plan
from matcher.plans.tables import (
    KPIS_FILE,
    PLAN_TABLES,
    REQUIRED_KPIS,
    RUN_FILE,
    PlanTable,
    empty_table,
)

__all__ = ["as_plan", "plan_dataset", "read_plan", "read_plan_table"]


def read_plan(
    folder: str | Path,
    label: str | None = None,
    *,
    dataset: Dataset | str | Path | None = None,
) -> Plan:
    """Read a plan folder written by :meth:`Plan.write <matcher.plans.result.Plan.write>`.

    Parameters
    ----------
    folder
        The folder: ``assignments.csv``, ``demand_status.csv``, ``kpis.json``,
        ``run.json``, and ``funding.csv`` and ``leads.csv`` when present.
    label
        The plan's name where several are shown (default: the folder's name).
    dataset
        When given (a dataset or a folder), it must be the one the plan was made from:
        its content hash is checked against ``run.json``'s (see :func:`plan_dataset`).

    Returns
    -------
    Plan
        The plan with its tables typed as :mod:`matcher.plans.tables` declares them and
        the solver's figures from ``kpis.json`` (no flow on arcs).

    Raises
    ------
    PlanFolderError
        If the folder or a file is missing, a file is not CSV or JSON, a column is
        missing, a number cell is not a number, ``kpis.json`` lacks a plan's keys,
        ``run.json``'s parameters are not valid, or ``dataset`` is not the plan's; the
        message names the file, row and column.
    """
    path = Path(folder)
    if not path.is_dir():
        raise PlanFolderError(
            Text(N_("plan folder {folder} does not exist (or is not a folder)"), folder=str(path))
        )
    kpis = _read_json(path, KPIS_FILE)
    for key in REQUIRED_KPIS:
        if key not in kpis:
            raise PlanFolderError(
                Text(N_("{path}: key {key} is missing"), path=str(path / KPIS_FILE), key=repr(key))
            )
    run = _read_json(path, RUN_FILE)
    tables = {spec.name: read_plan_table(path, spec) for spec in PLAN_TABLES}
    try:
        plan = Plan.from_tables(tables, kpis, run, label or path.resolve().name)
    except ParameterError as exc:
        raise PlanFolderError(
            Text(
                N_("{path}: parameter {name}={value}: expected {expected}"),
                path=str(path / RUN_FILE),
                name=exc.name,
                value=repr(exc.value),
                expected=exc.expected,
            )
        ) from None
    if dataset is not None:
        plan_dataset(plan, dataset)
    return plan


def as_plan(plan: Plan | str | Path, label: str | None = None) -> Plan:
    """A plan given either way: a :class:`Plan` (renamed ``label`` when given) or a plan
    folder (read by :func:`read_plan`)."""
    if isinstance(plan, Plan):
        return plan if label is None else replace(plan, label=label)
    return read_plan(plan, label)


def read_plan_table(folder: Path, spec: PlanTable) -> pd.DataFrame:
    """One table of a plan folder, checked and typed by ``spec``.

    A missing optional file (``funding.csv``, ``leads.csv``) gives the empty table. Text
    cells written formula-safe by :meth:`Plan.write` are restored (:mod:`matcher.csvsafe`),
    so ids round-trip; number cells must be numbers (blank only where the column may be
    blank, read as ``NaN``).
    """
    path = folder / spec.file
    if not path.is_file():
        if spec.required:
            raise PlanFolderError(
                Text(
                    N_(
                        "plan folder {folder}: {name} is missing (a plan folder is written by "
                        "`matcher plan DATASET --out DIR`)"
                    ),
                    folder=str(folder),
                    name=spec.file,
                )
            )
        return empty_table(spec)
    try:
        frame = pd.read_csv(
            path,
            dtype=dict.fromkeys(spec.columns, str),
            keep_default_na=False,
            encoding="utf-8-sig",
        )
    except (ValueError, UnicodeDecodeError) as exc:
        raise PlanFolderError(
            Text(N_("{path}: cannot be read as CSV ({error})"), path=str(path), error=str(exc))
        ) from None
    missing = [c for c in spec.columns if c not in frame.columns]
    if missing:
        raise PlanFolderError(
            Text(
                N_("{path}, row 1: column {column} is missing; expected the columns {columns}"),
                path=str(path),
                column=repr(missing[0]),
                columns=", ".join(spec.columns),
            )
        )
    frame = restore_formulas(frame[list(spec.columns)])
    for column in spec.number_columns:
        frame[column] = _numbers(frame[column], path, column, whole=spec.dtypes[column] == "int")
    return frame


def _numbers(cells: pd.Series, path: Path, column: str, *, whole: bool) -> pd.Series:
    """A column of number cells as numbers; the first cell that is not one is named."""
    text = cells.astype(str)
    blank = (text == "").to_numpy()
    numbers = pd.to_numeric(text.mask(blank), errors="coerce").to_numpy(dtype=np.float64)
    bad = np.isnan(numbers) & ~blank
    if whole:
        bad |= np.isnan(numbers) | (numbers != np.floor(numbers))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise PlanFolderError(
            Text(
                N_("{path}, row {row}, column {column}: got {value}, expected {expected}"),
                path=str(path),
                row=row + 2,
                column=repr(column),
                value=repr(cells.iloc[row]),
                expected=Text(N_("a whole number")) if whole else Text(N_("a number")),
            )
        )
    return pd.Series(numbers.astype(np.int64) if whole else numbers, index=cells.index)


def _read_json(folder: Path, name: str) -> dict[str, Any]:
    path = folder / name
    if not path.is_file():
        raise PlanFolderError(
            Text(N_("plan folder {folder}: {name} is missing"), folder=str(folder), name=name)
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise PlanFolderError(
            Text(N_("{path}: not valid JSON ({error})"), path=str(path), error=str(exc))
        ) from None
    if not isinstance(data, dict):
        raise PlanFolderError(Text(N_("{path}: expected a JSON object"), path=str(path)))
    return data


def plan_dataset(plan: Plan, dataset: Dataset | str | Path | None = None) -> Dataset:
    """The dataset a plan was made from, checked by its content hash.

    Parameters
    ----------
    plan
        The plan (its ``dataset_source`` is where to look when ``dataset`` is ``None``).
    dataset
        A dataset, or a folder or file to load one from; default the plan's own source
        (a folder, or the workbook or archive it was read from).

    Raises
    ------
    PlanFolderError
        If no dataset can be found, or its content hash differs from the plan's (a report
        on another dataset would place and name the plan's rows wrongly).
    """
    if dataset is None:
        # A folder, or the workbook or archive a plan of one names.
        if not plan.dataset_source or not Path(plan.dataset_source).exists():
            raise PlanFolderError(
                Text(
                    N_(
                        "plan {label}: its run.json names the dataset {source}, which is not "
                        "here; give the dataset with --dataset DIR"
                    ),
                    label=plan.label,
                    source=repr(plan.dataset_source or "(none)"),
                )
            )
        dataset = plan.dataset_source
    loaded = dataset if isinstance(dataset, Dataset) else load_dataset(dataset)
    if plan.dataset_hash and loaded.content_hash != plan.dataset_hash:
        raise PlanFolderError(
            Text(
                N_(
                    "dataset {source} has content hash {hash}..., but plan {label} was made "
                    "from a dataset with hash {plan_hash}... (run.json); give the dataset the "
                    "plan was made from"
                ),
                source=str(loaded.source),
                hash=loaded.content_hash[:12],
                label=plan.label,
                plan_hash=plan.dataset_hash[:12],
            )
        )
    return loaded
