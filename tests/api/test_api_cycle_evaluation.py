"""The cycle's evaluation over HTTP: rating tokens, residents' and committees' ratings
and their aggregates, the cadres' points at closing, and the next quarter's cycle with
its carried-over demands, each checked against the rule written out here."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pandas as pd
from conftest import Service, delivery_cycle, narrow_key
from sqlalchemy import select

from api.db.models import Cycle, CycleEntry, DatasetTable
from api.db.session import session_scope

DEMO = Path(__file__).resolve().parents[2] / "datasets" / "fuzhou-demo"


def deliver(svc: Service, cycle_id: str, row: pd.Series, hours: int, status: str) -> None:
    """Record ``hours`` on an assignment (as a planner) and, unless ``pending``, decide."""
    r = svc.client.post(
        f"/cycles/{cycle_id}/deliveries",
        json={
            "supplier_kind": row["supplier_kind"],
            "supplier_id": str(row["supplier_id"]),
            "demand_id": str(row["demand_id"]),
            "hours": hours,
        },
        headers=svc.h("planner"),
    )
    assert r.status_code == 201, r.text
    if status != "pending":
        d = svc.client.post(
            f"/cycles/{cycle_id}/deliveries/{r.json()['id']}/decision",
            json={"status": status},
            headers=svc.h("community"),
        )
        assert d.status_code == 200, d.text


def move(svc: Service, cycle_id: str, action: str) -> None:
    """Move the cycle on as a planner."""
    r = svc.client.post(f"/cycles/{cycle_id}/moves/{action}", headers=svc.h("planner"))
    assert r.status_code == 200, r.text


def tokens(svc: Service, cycle_id: str, community: str, n: int) -> list[str]:
    """``n`` rating tokens of ``community``, issued by the planner."""
    r = svc.client.post(
        f"/cycles/{cycle_id}/rating-tokens",
        json={"community_id": community, "count": n},
        headers=svc.h("planner"),
    )
    assert r.status_code == 201, r.text
    out: list[str] = r.json()["tokens"]
    return out


def rate(svc: Service, cycle_id: str, demand: str, token: str, rating: Any) -> Any:
    """A public rating (no key)."""
    return svc.client.post(
        f"/public/cycles/{cycle_id}/ratings",
        json={"demand_id": demand, "token": token, "rating": rating},
    )


def _two_demand_community(status: pd.DataFrame, a: pd.DataFrame) -> tuple[str, str, str]:
    """A community with two planned projects, one served by two units: (community,
    that project, the other)."""
    units = a.groupby("demand_id")["unit_id"].nunique()
    planned = set(a["demand_id"])
    for community, group in status.groupby("community_id"):
        ids = [d for d in group["demand_id"] if d in planned]
        shared = [d for d in ids if units[d] >= 2]
        if len(ids) >= 2 and shared:
            other = next(d for d in ids if d != shared[0])
            return str(community), shared[0], other
    raise AssertionError("no community with two projects, one of two units")


def test_tokens_and_ratings(each_svc: Service) -> None:
    svc = each_svc
    c = delivery_cycle(svc)
    a, status = c.assignments, c.status
    community, rated, undelivered = _two_demand_community(status, a)
    elsewhere_row = a[a["community_id"] != community].iloc[0]
    elsewhere = str(elsewhere_row["community_id"])
    for _, row in a[a["demand_id"] == rated].iterrows():
        deliver(svc, c.id, row, 1, "approved")
    deliver(svc, c.id, elsewhere_row, 1, "approved")
    first_undelivered = a[a["demand_id"] == undelivered].iloc[0]
    deliver(svc, c.id, first_undelivered, 1, "pending")

    # tokens: the community's key for its own community, in delivery or evaluation
    own = narrow_key(svc, "community", communities=[community])
    url = f"/cycles/{c.id}/rating-tokens"
    r = svc.client.post(url, json={"community_id": elsewhere, "count": 2}, headers=own)
    assert r.status_code == 403 and r.json()["code"] == "forbidden_scope", r.text
    r = svc.client.post(url, json={"community_id": community, "count": 2}, headers=svc.h("unit"))
    assert r.status_code == 403 and r.json()["code"] == "forbidden_role", r.text
    r = svc.client.post(url, json={"community_id": community, "count": 0}, headers=own)
    assert r.status_code == 422
    r = svc.client.post(url, json={"community_id": community, "count": 501}, headers=own)
    assert r.status_code == 422
    r = svc.client.post(url, json={"community_id": "C-NOWHERE", "count": 1}, headers=own)
    assert r.status_code in (403, 422)
    r = svc.client.post(url, json={"community_id": community, "count": 4}, headers=own)
    assert r.status_code == 201, r.text
    ts = r.json()["tokens"]
    assert len(ts) == len(set(ts)) == 4 and all(len(t) <= 16 for t in ts)
    other_ts = tokens(svc, c.id, elsewhere, 1)

    # rating waits for the evaluation
    r = rate(svc, c.id, rated, ts[0], 5)
    assert r.status_code == 409 and r.json()["code"] == "phase_conflict", r.text
    move(svc, c.id, "start_evaluation")

    r = rate(svc, c.id, rated, ts[0], 5)
    assert r.status_code == 201, r.text
    assert r.json() == {"demand_id": rated, "count": 1, "mean": 5.0}
    r = rate(svc, c.id, rated, ts[0], 4)
    assert r.status_code == 409 and r.json()["code"] == "already_rated", r.text
    assert r.json()["errors"][0]["field"] == "demand_id" and rated in r.json()["detail"]
    r = rate(svc, c.id, rated, ts[1], 6)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "rating", r.text
    r = rate(svc, c.id, rated, ts[1], 0)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "rating", r.text
    r = rate(svc, c.id, rated, "not-a-token", 4)
    assert r.status_code == 403 and r.json()["code"] == "bad_token", r.text
    r = rate(svc, c.id, rated, other_ts[0], 4)  # a token of another community
    assert r.status_code == 403 and r.json()["code"] == "bad_token", r.text
    r = rate(svc, c.id, undelivered, ts[1], 4)  # no approved hour yet
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "demand_id", r.text
    r = rate(svc, c.id, rated, ts[1], 4)
    assert r.status_code == 201 and r.json()["count"] == 2, r.text
    r = svc.client.post(
        f"/public/cycles/{c.id}/ratings",
        json={"demand_id": rated, "token": ts[2], "rating": 2, "comment": "x" * 501},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "comment", r.text
    r = svc.client.post(
        f"/public/cycles/{c.id}/ratings",
        json={"demand_id": rated, "token": ts[2], "rating": 2, "comment": "late, but done"},
    )
    assert r.status_code == 201, r.text
    assert rate(svc, c.id, str(elsewhere_row["demand_id"]), other_ts[0], 3).status_code == 201

    # a committee rates with its key, once; not another community's project
    keyed = f"/cycles/{c.id}/ratings"
    r = svc.client.post(keyed, json={"demand_id": rated, "rating": 3}, headers=own)
    assert r.status_code == 201 and r.json()["role"] == "community", r.text
    r = svc.client.post(keyed, json={"demand_id": rated, "rating": 3}, headers=own)
    assert r.status_code == 409 and r.json()["code"] == "already_rated"
    elsewhere_demand = str(elsewhere_row["demand_id"])
    r = svc.client.post(keyed, json={"demand_id": elsewhere_demand, "rating": 3}, headers=own)
    assert r.status_code == 403
    r = svc.client.post(keyed, json={"demand_id": rated, "rating": 3}, headers=svc.h("planner"))
    assert r.status_code == 403

    # aggregates, by hand: the rated project has 5, 4, 2, 3; the other project 3
    given = {rated: [5, 4, 2, 3], elsewhere_demand: [3]}
    r = svc.client.get(f"{keyed}?level=project", headers=svc.h("viewer"))
    assert r.status_code == 200, r.text
    got = {g["group"]: g for g in r.json()}
    assert set(got) == set(given)
    for demand, values in given.items():
        assert got[demand]["count"] == len(values)
        assert abs(got[demand]["mean"] - sum(values) / len(values)) < 1e-12
        assert [got[demand][f"n{k}"] for k in range(1, 6)] == [values.count(k) for k in range(1, 6)]
    by_unit: dict[str, list[int]] = {}
    for demand, values in given.items():
        for unit in set(a.loc[a["demand_id"] == demand, "unit_id"]):
            by_unit.setdefault(str(unit), []).extend(values)
    r = svc.client.get(f"{keyed}?level=unit", headers=svc.h("planner"))
    got = {g["group"]: g for g in r.json()}
    assert {u: (g["count"], g["mean"]) for u, g in got.items()} == {
        u: (len(v), sum(v) / len(v)) for u, v in by_unit.items()
    }
    r = svc.client.get(f"{keyed}?level=community", headers=svc.h("planner"))
    assert {g["group"]: g["count"] for g in r.json()} == {community: 4, elsewhere: 1}
    r = svc.client.get(f"{keyed}?level=district", headers=svc.h("planner"))
    assert [(g["group"], g["count"]) for g in r.json()] == [("Gulou", 5)]
    r = svc.client.get(f"{keyed}?level=street", headers=svc.h("planner"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "level"

    # the public reads each project's count and mean, nothing else
    r = svc.client.get(f"/public/cycles/{c.id}/ratings")
    assert r.status_code == 200
    assert sorted(r.json(), key=lambda g: g["demand_id"]) == sorted(
        [{"demand_id": d, "count": len(v), "mean": sum(v) / len(v)} for d, v in given.items()],
        key=lambda g: g["demand_id"],
    )

    # the audit log: tokens privately by count only, each rating publicly without token
    log = svc.client.get(f"/cycles/{c.id}/audit?limit=10000", headers=svc.h("planner"))
    entries = log.json()["items"]
    issued = [e for e in entries if e["action"] == "issue_rating_tokens"]
    assert [(e["after"]["count"], e["visibility"]) for e in issued] == [
        (4, "private"),
        (1, "private"),
    ]
    text = json.dumps(entries)
    assert not any(t in text for t in ts + other_ts)
    rates = [e for e in entries if e["action"] == "rate"]
    assert len(rates) == 5 and all(e["visibility"] == "public" for e in rates)
    assert [e["after"]["rating"] for e in rates] == [5, 4, 2, 3, 3]


def test_public_ratings_are_rate_limited(
    sqlite_url: str, service_factory: Callable[..., AbstractContextManager[Service]]
) -> None:
    with service_factory(sqlite_url, rate_limits=True, rate_limit_ratings="2/minute") as svc:
        c = delivery_cycle(svc)
        row = c.assignments.iloc[0]
        deliver(svc, c.id, row, 1, "approved")
        ts = tokens(svc, c.id, str(row["community_id"]), 3)
        move(svc, c.id, "start_evaluation")
        assert rate(svc, c.id, str(row["demand_id"]), ts[0], 4).status_code == 201
        assert rate(svc, c.id, str(row["demand_id"]), ts[0], 4).status_code == 409
        r = rate(svc, c.id, str(row["demand_id"]), ts[1], 4)
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1, r.text
        assert "MATCHER_RATE_LIMIT_RATINGS" in r.json()["detail"]


def _factor(values: list[int], weight: float, neutral: float, least: int) -> float:
    if len(values) < least:
        return 1.0
    mean = sum(values) / len(values)
    return max(0.0, 1 + weight * (mean - neutral) / (5 - neutral))


def test_close_points_and_next_cycle(svc: Service) -> None:
    options = {"points": {"points_per_hour": 2, "min_ratings": 2}}
    c = delivery_cycle(svc, options)
    a, status = c.assignments, c.status
    cadres = a[(a["supplier_kind"] == "cadre") & (a["hours"] >= 3)]
    by_demand = cadres.groupby("demand_id").size()
    rated = str(by_demand.index[by_demand >= 1][0])
    plain = next(str(d) for d in cadres["demand_id"] if d != rated)
    approved: dict[tuple[str, str], int] = {}
    for demand in (rated, plain):
        for _, row in cadres[cadres["demand_id"] == demand].iterrows():
            hours = int(row["hours"])
            deliver(svc, c.id, row, hours - 2, "approved")
            deliver(svc, c.id, row, 1, "rejected")
            deliver(svc, c.id, row, 1, "pending")
            key = (str(row["supplier_id"]), demand)
            approved[key] = approved.get(key, 0) + hours - 2
    community = str(status.loc[status["demand_id"] == rated, "community_id"].iloc[0])
    ts = tokens(svc, c.id, community, 2)
    move(svc, c.id, "start_evaluation")
    assert rate(svc, c.id, rated, ts[0], 5).status_code == 201
    assert rate(svc, c.id, rated, ts[1], 4).status_code == 201
    # points are read only once closed, and never by a community or the public
    move(svc, c.id, "close")

    factors = {rated: _factor([5, 4], 0.5, 3.0, 2)}
    want: dict[str, list[float]] = {}
    for (cadre, demand), hours in approved.items():
        h, p = want.setdefault(cadre, [0, 0.0])
        want[cadre] = [h + hours, p + hours * 2 * factors.get(demand, 1.0)]
    r = svc.client.get(f"/cycles/{c.id}/points", headers=svc.h("planner"))
    assert r.status_code == 200, r.text
    got = {p["cadre_id"]: p for p in r.json()}
    assert set(got) == set(want)
    for cadre, (hours, points) in want.items():
        assert got[cadre]["approved_hours"] == hours
        assert abs(got[cadre]["points"] - points) < 1e-6
        unit = a.loc[a["supplier_id"] == cadre, "unit_id"].iloc[0]
        assert got[cadre]["unit_id"] == unit
    assert svc.client.get(f"/cycles/{c.id}/points", headers=svc.h("community")).status_code == 403
    assert svc.client.get(f"/cycles/{c.id}/points").status_code == 401
    one_unit = str(next(iter(got.values()))["unit_id"])
    unit_key = narrow_key(svc, "unit", units=[one_unit])
    r = svc.client.get(f"/cycles/{c.id}/points", headers=unit_key)
    assert {p["unit_id"] for p in r.json()} == {one_unit}

    # the next cycle
    url = f"/cycles/{c.id}/next"
    assert svc.client.post(url, json={}, headers=svc.h("community")).status_code == 403
    r = svc.client.post(url, json={"scale_by_reliability": True}, headers=svc.h("planner"))
    assert r.status_code == 201, r.text
    nxt = r.json()
    assert nxt["period"] == "2027-Q1" and nxt["previous_cycle_id"] == c.id
    assert nxt["phase"] == "collecting" and nxt["options"] == options
    again = svc.client.post(url, json={}, headers=svc.h("planner"))
    assert again.status_code == 409 and again.json()["code"] == "next_exists"
    assert svc.client.get(f"/cycles/{c.id}", headers=svc.h()).json()["next_cycle_id"] == nxt["id"]

    # carried: the Gulou demands not fully met, with their remaining hours
    remaining = status["hours"] - status["covered_hours"]
    carried = dict(zip(status["demand_id"][remaining > 0], remaining[remaining > 0], strict=True))
    assert carried
    with session_scope(svc.client.app.state.sessionmaker) as session:
        entries = session.execute(
            select(CycleEntry).where(CycleEntry.cycle_id == nxt["id"])
        ).scalars()
        rows = [
            (e.table_name, e.row_key, e.data["hours"], e.origin, e.carried_from, e.times_carried)
            for e in entries
        ]
        blobs = dict(
            session.execute(
                select(DatasetTable.table_name, DatasetTable.parquet).where(
                    DatasetTable.dataset_id == nxt["base_dataset_id"]
                )
            ).all()
        )
    assert sorted(rows) == sorted(
        ("demands", d, int(h), "carried_over", "2026-Q4", 1) for d, h in carried.items()
    )
    # its base dataset: no demands; cadres' hours scaled by approved over planned hours
    assert len(pd.read_parquet(io.BytesIO(blobs["demands"]))) == 0
    before = pd.read_csv(DEMO / "cadres.csv", dtype={"cadre_id": str})
    after = pd.read_parquet(io.BytesIO(blobs["cadres"])).set_index("cadre_id")["hours"]
    planned = a[a["supplier_kind"] == "cadre"].groupby("supplier_id")["hours"].sum()
    done: dict[str, int] = {}
    for (cadre, _), hours in approved.items():
        done[cadre] = done.get(cadre, 0) + hours
    for cadre, hours in zip(before["cadre_id"], before["hours"], strict=True):
        expect = hours * done.get(cadre, 0) // planned[cadre] if cadre in planned else hours
        assert after[cadre] == expect, cadre
    assert (after < before.set_index("cadre_id")["hours"]).any()

    log = svc.client.get(f"/cycles/{c.id}/audit?limit=10000", headers=svc.h("planner")).json()
    actions = [(e["action"], e["visibility"]) for e in log["items"]]
    assert ("points", "private") in actions and ("open_next", "public") in actions
    points_entry = next(e for e in log["items"] if e["action"] == "points")
    assert points_entry["after"]["cadres"] == len(want)
    assert points_entry["after"]["approved_hours"] == sum(approved.values())
    nlog = svc.client.get(f"/cycles/{nxt['id']}/audit?limit=10000", headers=svc.h("planner"))
    assert len([e for e in nlog.json()["items"] if e["action"] == "add_demand"]) == len(carried)


def test_next_cycle_keeps_hours_and_bad_points(svc: Service) -> None:
    c = delivery_cycle(svc, {"points": {"min_ratings": 0}})
    move(svc, c.id, "start_evaluation")
    r = svc.client.post(f"/cycles/{c.id}/moves/close", headers=svc.h("planner"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "min_ratings", r.text
    with session_scope(svc.client.app.state.sessionmaker) as session:
        cycle = session.get(Cycle, c.id)
        assert cycle is not None
        cycle.options = {}
    move(svc, c.id, "close")
    assert svc.client.get(f"/cycles/{c.id}/points", headers=svc.h("planner")).json() == []
    r = svc.client.post(f"/cycles/{c.id}/next", json={"period": "2027-Q2"}, headers=svc.h())
    assert r.status_code == 201 and r.json()["period"] == "2027-Q2", r.text
    with session_scope(svc.client.app.state.sessionmaker) as session:
        blob = session.execute(
            select(DatasetTable.parquet).where(
                DatasetTable.dataset_id == r.json()["base_dataset_id"],
                DatasetTable.table_name == "cadres",
            )
        ).scalar_one()
    before = pd.read_csv(DEMO / "cadres.csv")
    assert pd.read_parquet(io.BytesIO(blob))["hours"].tolist() == before["hours"].tolist()
