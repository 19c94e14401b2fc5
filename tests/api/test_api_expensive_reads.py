"""The expensive reads (report, bottlenecks, summaries, a demand's explanation) against a
real ``matcher serve``: computed outside the server and kept, equal to the library's,
bounded in number, and cut to a scoped key's districts."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from sqlalchemy import create_engine, text

import matcher
from matcher.analysis.explain import (
    ExplainParams,
    bottlenecks,
    demand_explanation,
    plain_summaries,
    summaries,
)
from matcher.inputs.generate import generate
from matcher.inputs.io import write_tables
from matcher.report.html import build_report

SCALE = 0.1
RUN_ARTIFACTS = {
    "report.en.html",
    "report.zh.html",
    "bottlenecks",
    "summaries.en",
    "summaries.zh",
}


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory, kit: Any) -> tuple[Path, bytes]:
    """A generated city (scale 0.1) as a folder and as a zip."""
    folder = tmp_path_factory.mktemp("city")
    write_tables(generate(scale=SCALE, seed=5), folder)
    return folder, bytes(kit.zip_folder(folder))


def _artifacts(url: str, run_id: str) -> dict[str, tuple[str | None, str | None]]:
    """The store's run_artifacts rows of a run: name -> (other run, error code)."""
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("select name, other_run_id, error_code from run_artifacts where run_id = :r"),
            {"r": run_id},
        ).all()
    engine.dispose()
    return {r[0]: (r[1], r[2]) for r in rows}


def _wait(c: httpx.Client, s: Any, run_id: str, key: str = "status") -> dict[str, Any]:
    """Poll a run until it has succeeded and, with ``key="artifacts"``, until its worker
    has kept its reads (their seconds are in its timings)."""
    deadline = time.monotonic() + 300
    while True:
        run: dict[str, Any] = c.get(f"/runs/{run_id}", headers=s.h("viewer")).json()
        assert run["status"] not in ("failed", "cancelled"), run
        if run["status"] == "succeeded" and (
            key == "status" or "artifacts" in (run["timings"] or {})
        ):
            return run
        assert time.monotonic() < deadline, run["status"]
        time.sleep(0.25)


def _district_maps(folder: Path) -> tuple[dict[str, str], dict[str, str]]:
    """community -> district and demand -> district, from the dataset's own files."""
    comm = pd.read_csv(folder / "communities.csv", dtype=str)
    dem = pd.read_csv(folder / "demands.csv", dtype=str)
    of_comm = dict(zip(comm["community_id"], comm["district"], strict=True))
    of_dem = {d: of_comm[c] for d, c in zip(dem["demand_id"], dem["community_id"], strict=True)}
    return of_comm, of_dem


def _moved_demands(moves: str | None) -> list[str]:
    """The demands of a bottleneck's moves ('+1 K1->D3; -1 K2->D3')."""
    return [m.split("->", 1)[1] for m in (moves or "").split("; ") if m]


def _null(rows: list[dict[Any, Any]]) -> list[dict[Any, Any]]:
    return [{k: (None if v == "" else v) for k, v in r.items()} for r in rows]


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_reads_are_kept_equal_the_library_and_are_cut_to_districts(
    live_server: Any, city: tuple[Path, bytes], store: str, request: pytest.FixtureRequest
) -> None:
    folder, data = city
    url = None if store == "sqlite" else request.getfixturevalue("pg_url")
    s = live_server(url, MATCHER_MAX_CONCURRENT_READS="1", MATCHER_RATE_LIMITS="false")
    with httpx.Client(base_url=s.base, timeout=120) as c:
        up = c.post(
            "/datasets?name=city",
            content=data,
            headers={**s.h("planner"), "Content-Type": "application/zip"},
        )
        assert up.status_code == 201, up.text
        ds = up.json()
        r = c.post(
            "/runs", json={"dataset_id": ds["id"], "label": "weekly"}, headers=s.h("planner")
        )
        assert r.status_code == 202, r.text
        run_id = r.json()["id"]
        run = _wait(c, s, run_id, "artifacts")
        # The run's worker computed and kept them, before anyone read them.
        assert set(_artifacts(s.url, run_id)) == RUN_ARTIFACTS
        assert run["timings"]["artifacts"] > 0

        before = s.rss_mib()
        started = time.perf_counter()
        report = c.get(f"/runs/{run_id}/report", headers=s.h("viewer"))
        every = c.get(f"/runs/{run_id}/bottlenecks?limit=10000", headers=s.h("viewer"))
        texts = {
            lang: c.get(f"/runs/{run_id}/summaries?lang={lang}", headers=s.h("viewer"))
            for lang in ("en", "zh")
        }
        took = time.perf_counter() - started
        grown = s.rss_mib() - before
        print(
            f"\nfour reads from the store: {took:.3f} s; server RSS {before:.0f} MiB, +{grown:.1f}"
        )
        assert report.status_code == every.status_code == 200
        assert all(t.status_code == 200 for t in texts.values())
        assert took < 5 and grown < 60
        assert set(_artifacts(s.url, run_id)) == RUN_ARTIFACTS  # nothing new was computed

        # The same as the library's, called here on the same plan.
        dataset = matcher.load_dataset(folder)
        plan = matcher.plan(dataset)
        served = c.get(f"/runs/{run_id}/assignments?limit=10000", headers=s.h("viewer")).json()
        assert served["total"] == len(plan.assignments)
        assert [(a["supplier_id"], a["demand_id"], a["hours"]) for a in served["items"]] == list(
            zip(
                plan.assignments["supplier_id"],
                plan.assignments["demand_id"],
                plan.assignments["hours"],
                strict=True,
            )
        )[:10000]
        tables = replace(plan, label="weekly", dataset_source="city")
        body = re.compile(r"<main>.*</main>", re.S)
        local = build_report(tables, dataset)
        assert body.search(report.text).group(0) == body.search(local).group(0)  # type: ignore[union-attr]
        table = bottlenecks(tables, dataset)
        assert every.json()["items"] == _null(table.to_dict("records"))
        for lang, got in texts.items():
            mine = summaries(tables, dataset, ExplainParams(langs=(lang,)), bottleneck_table=table)
            assert got.json() == mine.to_dict("records")

        # A demand's explanation: computed on first read in a read worker, then kept.
        status = plan.demand_status
        of_comm, of_dem = _district_maps(folder)
        short = status[(status["status"] != "met") & (status["district"] == "Gulou")]
        demand = str(short["demand_id"].iloc[0])
        r = c.get(f"/runs/{run_id}/demands/{demand}/explanation", headers=s.h("viewer"))
        assert r.status_code == 200, r.text
        assert f"explanation:5:{demand}" in _artifacts(s.url, run_id)
        ex = demand_explanation(tables, dataset, demand).to_dict()
        ex["demand"]["funded"] = ex["demand"]["funded"] or ""
        ex["demand"]["reason"] = ex["demand"]["reason"] or ""
        for n in ex["nearest"]:
            del n["demand_id"]  # the route's rows are all of this demand
        assert r.json() == ex
        before = s.rss_mib()
        started = time.perf_counter()
        again = c.get(f"/runs/{run_id}/demands/{demand}/explanation", headers=s.h("viewer"))
        print(
            f"explanation again, from the store: {time.perf_counter() - started:.3f} s, "
            f"server RSS +{s.rss_mib() - before:.1f} MiB"
        )
        assert again.json() == r.json()

        # A Gulou key: no row, text or move names a demand or community outside Gulou.
        gulou = c.get(f"/runs/{run_id}/bottlenecks?limit=10000", headers=s.h("gulou")).json()
        rows = gulou["items"]
        assert rows and {i["district"] for i in rows} == {"Gulou"}
        unscoped = [i for i in every.json()["items"] if i["district"] == "Gulou"]
        outside = [
            i
            for i in unscoped
            if any(of_dem[d] != "Gulou" for d in _moved_demands(i["moves"]))
            or (i["demand_id"] and of_dem[i["demand_id"]] != "Gulou")
        ]
        assert outside, "the city should have Gulou suppliers whose hour moves leave Gulou"
        for i in rows:
            for d in (i["demand_id"], i["gaining_demand_id"], *_moved_demands(i["moves"])):
                assert d is None or of_dem[d] == "Gulou", i
            for cid in (i["community_id"], i["gaining_community_id"]):
                assert cid is None or of_comm[cid] == "Gulou", i
        assert [(i["skill"], i["marginal_value"]) for i in rows] == [
            (i["skill"], i["marginal_value"]) for i in unscoped
        ]
        for lang in ("en", "zh"):
            mine = c.get(f"/runs/{run_id}/summaries?lang={lang}", headers=s.h("gulou")).json()
            assert mine
            for row in mine:
                where = row["id"] if row["scope"] == "district" else of_comm[row["id"]]
                assert where == "Gulou", row
        seen = c.get(f"/runs/{run_id}/demands/{demand}/explanation", headers=s.h("gulou")).json()
        for row in seen["elsewhere"]:
            assert of_comm[row["community_id"]] == "Gulou" and of_dem[row["demand_id"]] == "Gulou"
        outside_ids = {d for d, where in of_dem.items() if where != "Gulou"}
        for n in seen["nearest"]:
            named = re.findall(r"(?:^|; )(\S+) \(", n["serves_instead"])
            assert not set(named) & outside_ids, n
        assert c.get(f"/runs/{run_id}/report", headers=s.h("gulou")).status_code == 403

        # A run stored before the reads were kept gets them on its first read.
        engine = create_engine(s.url)
        with engine.begin() as conn:
            conn.execute(text("delete from run_artifacts where run_id = :r"), {"r": run_id})
        engine.dispose()
        lazy = c.get(f"/runs/{run_id}/bottlenecks?limit=10000", headers=s.h("viewer"))
        assert lazy.status_code == 200 and lazy.json() == every.json()
        assert {"bottlenecks", "summaries.en", "summaries.zh"} <= set(_artifacts(s.url, run_id))
        assert s.alive()


def test_a_cap_on_reads_computed_at_once(live_server: Any, city: tuple[Path, bytes]) -> None:
    """With MATCHER_MAX_CONCURRENT_READS=1, a second read to compute while one is being
    computed gets 503 with Retry-After; reads kept already are not held up."""
    _, data = city
    s = live_server(MATCHER_MAX_CONCURRENT_READS="1", MATCHER_RATE_LIMITS="false")
    with httpx.Client(base_url=s.base, timeout=120) as c:
        ds = c.post(
            "/datasets", content=data, headers={**s.h("planner"), "Content-Type": "application/zip"}
        ).json()
        first = c.post("/runs", json={"dataset_id": ds["id"]}, headers=s.h("planner")).json()
        other = c.post(
            "/runs",
            json={"dataset_id": ds["id"], "label": "dear", "params": {"travel_cost_per_km": 1.0}},
            headers=s.h("planner"),
        ).json()
        _wait(c, s, first["id"], "artifacts")
        _wait(c, s, other["id"], "artifacts")
        url = f"/runs/{first['id']}"
        demands = c.get(f"{url}/demand_status?status=unmet&limit=2", headers=s.h("viewer")).json()[
            "items"
        ]
        assert len(demands) == 2
        results: dict[str, httpx.Response] = {}
        paths = {
            "a": f"{url}/demands/{demands[0]['demand_id']}/explanation",
            "b": f"{url}/demands/{demands[1]['demand_id']}/explanation",
            "c": f"{url}/report?against={other['id']}",
        }
        together = threading.Barrier(len(paths))

        def ask(name: str) -> None:
            with httpx.Client(base_url=s.base, timeout=120) as own:
                together.wait()
                results[name] = own.get(paths[name], headers=s.h("viewer"))

        threads = [threading.Thread(target=ask, args=(name,)) for name in paths]
        for t in threads:
            t.start()
        time.sleep(0.2)  # one of them is computing (each takes over half a second)
        kept = c.get(f"{url}/bottlenecks", headers=s.h("viewer"))  # from the store
        for t in threads:
            t.join()
        codes = sorted(r.status_code for r in results.values())
        assert codes == [200, 503, 503], {k: r.text[:200] for k, r in results.items()}
        for busy in results.values():
            if busy.status_code == 503:
                assert busy.json()["code"] == "too_many_reads"
                assert int(busy.headers["Retry-After"]) >= 1
        assert kept.status_code == 200
        # Later they are computed, and kept.
        for path in paths.values():
            assert c.get(path, headers=s.h("viewer")).status_code == 200
        r = c.get(paths["c"], headers=s.h("viewer"))
        assert r.status_code == 200 and 'id="compare"' in r.text
        name = f"report.en.html:against:{other['id']}"
        assert _artifacts(s.url, first["id"])[name] == (other["id"], None)
        # Deleting the other run deletes the comparison with it.
        assert c.delete(f"/runs/{other['id']}", headers=s.h("planner")).status_code == 204
        deadline = time.monotonic() + 10  # the session commits as the response goes out
        while c.get(f"/runs/{other['id']}", headers=s.h("viewer")).status_code != 404:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert name not in _artifacts(s.url, first["id"])


def test_reads_past_their_memory_are_refused_not_fatal(
    live_server: Any, city: tuple[Path, bytes]
) -> None:
    """With MATCHER_READ_MEMORY_MB=64 the bottlenecks (which list every candidate arc)
    do not fit: the run still succeeds, the bottlenecks answer 409 too_large, the
    summaries leave out the bottleneck sentence, and the server carries on."""
    folder, data = city
    s = live_server(MATCHER_READ_MEMORY_MB="64", MATCHER_RATE_LIMITS="false")
    with httpx.Client(base_url=s.base, timeout=120) as c:
        ds = c.post(
            "/datasets?name=city",
            content=data,
            headers={**s.h("planner"), "Content-Type": "application/zip"},
        ).json()
        run = c.post("/runs", json={"dataset_id": ds["id"]}, headers=s.h("planner")).json()
        run = _wait(c, s, run["id"], "artifacts")
        assert run["status"] == "succeeded"
        assert _artifacts(s.url, run["id"])["bottlenecks"] == (None, "too_large")
        r = c.get(f"/runs/{run['id']}/bottlenecks", headers=s.h("viewer"))
        assert r.status_code == 409 and r.json()["code"] == "too_large"
        assert "MATCHER_READ_MEMORY_MB" in r.json()["detail"]
        got = c.get(f"/runs/{run['id']}/summaries", headers=s.h("viewer"))
        assert got.status_code == 200
        dataset = matcher.load_dataset(folder)
        tables = matcher.plan(dataset)
        plain = plain_summaries(tables, dataset, ExplainParams(langs=("en",)))
        assert got.json() == plain.to_dict("records")
        assert not any("Bottleneck" in row["text"] for row in got.json())
        assert s.alive()


@pytest.mark.parametrize("params", [{}, {"travel_cost_per_km": 0.8, "max_travel_km": 3.0}])
def test_the_cheaper_reads_equal_the_arc_listing_definitions(
    city: tuple[Path, bytes], params: dict[str, float]
) -> None:
    """What the kept reads are computed from no longer lists every candidate arc; they
    equal what listing them gives: the report's supply within reach, and a demand's
    explanation (here against the explanation made from the full problem)."""
    import numpy as np

    from matcher.analysis.explain import demand_explanations
    from matcher.model.arcs import build_problem
    from matcher.report.supply import skill_supply

    folder, _ = city
    dataset = matcher.load_dataset(folder)
    plan = matcher.plan(dataset, matcher.PlanParams.from_mapping(params))
    tables = plan
    # Supply within reach: hours of the suppliers with an arc of the skill scoring > 0.
    problem = build_problem(dataset, plan.params)
    a, s = problem.arcs, problem.suppliers
    useful = a.weight > 0
    pairs = np.unique(problem.demand_category[a.demand[useful]] * len(s) + a.supplier[useful])
    reach = np.bincount(pairs // len(s), weights=s.hours[pairs % len(s)])
    got = skill_supply(dataset, tables).set_index("category")["reach_hours"]
    for i, cat in enumerate(problem.categories):
        if cat in got.index:
            assert got[cat] == int(reach[i] if i < len(reach) else 0), cat
    if params:  # dear travel: some suppliers with the skill reach no demand of it
        skilled = skill_supply(dataset, tables).set_index("category")["skilled_hours"]
        assert (got < skilled).any()
    # A demand's explanation, from the plan's arcs and the demand's only.
    status = plan.demand_status
    demands = status.loc[status["status"] != "met", "demand_id"].astype(str).head(8).tolist()
    for nearest in (1, 5, 30):
        full = demand_explanations(tables, dataset, demands, ExplainParams(nearest=nearest))
        assert list(full) == demands
        for demand in demands:
            have = demand_explanation(tables, dataset, demand, ExplainParams(nearest=nearest))
            assert have.to_dict() == full[demand].to_dict()
