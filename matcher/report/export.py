"""Plan exports that dashboards read as they are: GeoJSON, CSV and Parquet.

A plan folder already holds the spec's CSV tables. Dashboards also want the communities
on a map with their coverage (GeoJSON, RFC 7946), the pairing ties as lines, the tables as
Parquet, and the KPIs as a long table (one row per KPI, nested names dotted) — the same
shape as the service's ``run_kpis`` SQL table, so a dashboard reads files and database
alike. The service (``api/routes/results.py``) serves the same GeoJSON from this module.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from matcher.i18n import N_, Text
from matcher.inputs.dataset import Dataset
from matcher.inputs.io import write_frame_csv

__all__ = [
    "COVERAGE_COLUMNS",
    "EXPORT_FORMATS",
    "communities_geojson",
    "community_coverage",
    "flatten_kpis",
    "kpi_table",
    "pairings_geojson",
    "write_exports",
]

COVERAGE_COLUMNS = (
    "community_id",
    "name",
    "district",
    "street",
    "lat",
    "lon",
    "households",
    "demands",
    "hours_demanded",
    "hours_covered",
    "coverage",
)
"""Columns of :func:`community_coverage` (one row per community)."""

EXPORT_FORMATS = ("csv", "parquet")


def _float(value: Any) -> float:
    """A table cell as a float (pandas cells are typed loosely)."""
    return float(value)


def _int(value: Any) -> int:
    """A table cell as an int."""
    return int(value)


def community_coverage(communities: pd.DataFrame, demand_status: pd.DataFrame) -> pd.DataFrame:
    """Every community with its demands, demanded and covered hours and coverage.

    Parameters
    ----------
    communities
        ``communities.csv`` of the plan's dataset.
    demand_status
        The plan's ``demand_status`` (needs ``community_id``, ``hours``,
        ``covered_hours``).

    Returns
    -------
    DataFrame
        :data:`COVERAGE_COLUMNS`, in the communities' order; ``coverage`` is covered over
        demanded hours, rounded to 6 decimals, and missing (NaN) without demanded hours.
    """
    grouped = demand_status.groupby("community_id", sort=False).agg(
        demands=("hours", "size"),
        hours_demanded=("hours", "sum"),
        hours_covered=("covered_hours", "sum"),
    )
    out = communities.reindex(columns=list(COVERAGE_COLUMNS[:7])).copy()
    ids = out["community_id"].astype(str)
    for column in ("demands", "hours_demanded", "hours_covered"):
        values = grouped[column].reindex(ids.to_numpy()).fillna(0).to_numpy()
        out[column] = values.astype("int64")
    demanded = out["hours_demanded"].to_numpy(float)
    covered = out["hours_covered"].to_numpy(float)
    out["coverage"] = [
        round(c / d, 6) if d > 0 else math.nan for c, d in zip(covered, demanded, strict=True)
    ]
    return out.reset_index(drop=True)


def communities_geojson(
    communities: pd.DataFrame,
    demand_status: pd.DataFrame,
    districts: Iterable[str] | None = None,
) -> dict[str, Any]:
    """The communities as an RFC 7946 FeatureCollection of Points ``[lon, lat]``.

    Each feature's ``id`` is the community id; its properties are the other columns of
    :func:`community_coverage` (``coverage`` null without demanded hours).

    Parameters
    ----------
    communities, demand_status
        As for :func:`community_coverage`.
    districts
        Only communities of these districts (``None``: all).
    """
    table = community_coverage(communities, demand_status)
    keep = None if districts is None else set(districts)
    features = []
    for row in table.itertuples(index=False):
        district = str(row.district)
        if keep is not None and district not in keep:
            continue
        coverage = _float(row.coverage)
        features.append(
            {
                "type": "Feature",
                "id": str(row.community_id),
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(_float(row.lon), 7), round(_float(row.lat), 7)],
                },
                "properties": {
                    "community_id": str(row.community_id),
                    "name": str(row.name),
                    "district": district,
                    "street": str(row.street),
                    "households": _int(row.households),
                    "demands": _int(row.demands),
                    "hours_demanded": _int(row.hours_demanded),
                    "hours_covered": _int(row.hours_covered),
                    "coverage": None if math.isnan(coverage) else coverage,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def pairings_geojson(dataset: Dataset) -> dict[str, Any]:
    """The pairing ties (dual registration) as LineStrings from unit to community."""
    units = dataset.units.set_index("unit_id")
    communities = dataset.communities.set_index("community_id")
    features = []
    for unit_id, community_id in dataset.pairings[["unit_id", "community_id"]].itertuples(
        index=False
    ):
        u, c = units.loc[unit_id], communities.loc[community_id]
        features.append(
            {
                "type": "Feature",
                "id": f"{unit_id}|{community_id}",
                "geometry": {
                    "type": "LineString",
                    "coordinates": [
                        [round(_float(u["lon"]), 7), round(_float(u["lat"]), 7)],
                        [round(_float(c["lon"]), 7), round(_float(c["lat"]), 7)],
                    ],
                },
                "properties": {
                    "unit_id": str(unit_id),
                    "unit_name": str(u["name"]),
                    "community_id": str(community_id),
                    "community_name": str(c["name"]),
                    "district": str(c["district"]),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def flatten_kpis(
    kpis: Mapping[str, Any], prefix: str = ""
) -> list[tuple[str, float | None, str | None]]:
    """KPIs as ``(name, value, text)`` rows: nested names dotted, numbers in ``value``.

    Booleans are numbers (true = 1) with their JSON in ``text``; lists and strings go to
    ``text`` (lists as JSON). This is the layout of the service's ``run_kpis`` table.
    """
    rows: list[tuple[str, float | None, str | None]] = []
    for key, value in kpis.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            rows.extend(flatten_kpis(value, name + "."))
        elif isinstance(value, bool):
            rows.append((name, float(value), json.dumps(value)))
        elif isinstance(value, int | float):
            number = float(value)
            rows.append((name, number if math.isfinite(number) else None, None))
        elif value is None:
            rows.append((name, None, None))
        else:
            rows.append((name, None, value if isinstance(value, str) else json.dumps(value)))
    return rows


def kpi_table(kpis: Mapping[str, Any]) -> pd.DataFrame:
    """:func:`flatten_kpis` as a frame with columns ``name``, ``value``, ``text``."""
    rows = flatten_kpis(kpis)
    return pd.DataFrame(
        {
            "name": pd.Series([r[0] for r in rows], dtype=object),
            "value": pd.Series([r[1] for r in rows], dtype="float64"),
            "text": pd.Series([r[2] for r in rows], dtype=object),
        }
    )


def write_exports(
    tables: Mapping[str, pd.DataFrame],
    kpis: Mapping[str, Any],
    dataset: Dataset,
    out_dir: str | Path,
    formats: Iterable[str] = EXPORT_FORMATS,
) -> list[Path]:
    """Write a plan's dashboard exports into a folder.

    Writes ``communities.geojson`` (communities with coverage), ``pairings.geojson``
    (pairing ties as lines), and in each format: the plan's tables, ``community_coverage``
    (:func:`community_coverage`) and ``kpis`` (:func:`kpi_table`).

    Parameters
    ----------
    tables
        The plan's tables by name (``assignments``, ``demand_status``, ``funding``,
        ``leads``); ``demand_status`` is required.
    kpis
        The plan's ``kpis.json``.
    dataset
        The plan's dataset (for coordinates, names and pairings).
    out_dir
        The folder (made if missing).
    formats
        Any of ``"csv"``, ``"parquet"``.

    Returns
    -------
    list of Path
        The files written.
    """
    formats = list(formats)
    for fmt in formats:
        if fmt not in EXPORT_FORMATS:
            raise ValueError(
                Text(
                    N_("export format {format}: expected one of {formats}"),
                    format=repr(fmt),
                    formats=", ".join(EXPORT_FORMATS),
                )
            )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    status = tables["demand_status"]
    written: list[Path] = []
    for name, data in (
        ("communities.geojson", communities_geojson(dataset.communities, status)),
        ("pairings.geojson", pairings_geojson(dataset)),
    ):
        path = out / name
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        written.append(path)
    frames = {
        **tables,
        "community_coverage": community_coverage(dataset.communities, status),
        "kpis": kpi_table(kpis),
    }
    for name, frame in frames.items():
        for fmt in formats:
            path = out / f"{name}.{fmt}"
            if fmt == "csv":
                write_frame_csv(frame, path)
            else:
                frame.to_parquet(path, index=False)
            written.append(path)
    return written
