"""Explanations: assignment values, shortfalls, bottlenecks (marginal values), summaries.

Marginal values are checked against re-solves: for every (skill, district) the reported
value must equal the best gain of the LP optimum (scipy HiGHS over the reference model's
own arcs, tests/factories.py) from one more hour of that skill at any supplier of that
district, each re-solved; the reported supplier's gain must also equal the planner's own
re-plan of the dataset with the extra hour (and, for a supplier with that one skill, of
the dataset with that supplier's hours + 1); and the hour moves reported must be a
feasible change of the plan worth exactly that value.
"""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from factories import PROFILES, lp_optimum, random_tables, reference_model

from matcher.analysis.explain import (
    ExplainParams,
    assignment_values,
    bottlenecks,
    demand_explanation,
    explain,
    explanation_in,
    format_bottlenecks,
    summaries,
)
from matcher.cli import main
from matcher.errors import ExplainError, ParameterError, PlanFolderError
from matcher.i18n import Text
from matcher.inputs.dataset import dataset_from_frames, load_dataset
from matcher.inputs.names import display_name
from matcher.params import PlanParams
from matcher.plans.io import read_plan
from matcher.plans.planner import plan

DATA = Path(__file__).parents[1] / "data"
TOL = 1e-6

# (profile, seed, travel_cost_per_km): steep travel costs push scores through zero.
CASES = [
    *[("small", seed, 0.05) for seed in (2, 3, 8)],
    ("small", 4, 0.6),
    ("dense", 1, 0.05),
    ("dense", 2, 0.8),
]


def _text(v: Any) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip()


def _supplier_rows(tables: dict[str, pd.DataFrame]) -> list[dict[str, Any]]:
    """Every supplier with its district (home community's, else unit's) and skills, and a
    key of what decides its arcs (suppliers with the same key have the same arcs)."""
    comm_district = dict(
        zip(tables["communities"]["community_id"], tables["communities"]["district"], strict=True)
    )
    unit_district = dict(zip(tables["units"]["unit_id"], tables["units"]["district"], strict=True))
    cats = set(tables["demands"]["category"])
    for s in tables["cadres"]["skills"]:
        cats |= set(s.split(";"))
    resources = tables.get("resources", pd.DataFrame(columns=["kind"]))
    services = resources[resources["kind"] == "service"] if len(resources) else resources
    for s in services.get("categories", []):
        cats |= {c for c in _text(s).split(";") if c}
    out = []
    for i, r in enumerate(tables["cadres"].to_dict("records")):
        home = _text(r.get("home_community_id"))
        out.append(
            {
                "kind": "cadre",
                "row": i,
                "id": r["cadre_id"],
                "district": comm_district[home] if home else unit_district[r["unit_id"]],
                "skills": set(r["skills"].split(";")),
                "key": ("cadre", r["unit_id"], home, _text(r.get("lat")), _text(r.get("lon"))),
            }
        )
    for i, r in enumerate(services.to_dict("records")):
        skills = {c for c in _text(r["categories"]).split(";") if c} or set(cats)
        out.append(
            {
                "kind": "service",
                "row": i,
                "id": r["resource_id"],
                "district": unit_district[r["unit_id"]],
                "skills": skills,
                "key": ("service", r["unit_id"], _text(r.get("range_km"))),
            }
        )
    return out


def _with_extra_hour(
    tables: dict[str, pd.DataFrame], sup: dict[str, Any], skill: str
) -> dict[str, pd.DataFrame]:
    """The tables with one more supplier like ``sup``: one hour, skill ``skill`` only."""
    out = dict(tables)
    if sup["kind"] == "cadre":
        row = tables["cadres"][tables["cadres"]["cadre_id"] == sup["id"]].copy()
        row["cadre_id"], row["skills"], row["hours"] = "K-EXTRA", skill, 1
        out["cadres"] = pd.concat([tables["cadres"], row], ignore_index=True)
    else:
        res = tables["resources"]
        row = res[res["resource_id"] == sup["id"]].copy()
        row["resource_id"], row["categories"], row["amount"] = "R-EXTRA", skill, 1.0
        out["resources"] = pd.concat([res, row], ignore_index=True)
    return out


def _lp(tables: dict[str, pd.DataFrame], travel: float = 0.05) -> float:
    return lp_optimum(reference_model(tables, travel_cost_per_km=travel))


@pytest.mark.parametrize(("profile", "seed", "travel"), CASES)
def test_marginal_values_equal_resolves_with_one_more_hour(
    profile: str, seed: int, travel: float
) -> None:
    tables = random_tables(seed, PROFILES[profile])
    ds = dataset_from_frames(tables)
    params = PlanParams(travel_cost_per_km=travel)
    p = plan(ds, params)
    table = bottlenecks(p, ds)
    base = _lp(tables, travel)
    sups = _supplier_rows(tables)
    cells = {(d, s) for x in sups for s in x["skills"] for d in [x["district"]]}
    assert {(r.district, r.skill) for r in table.itertuples()} == cells
    assert table["marginal_value"].is_monotonic_decreasing
    assert table["rank"].tolist() == list(range(1, len(table) + 1))
    gains: dict[tuple[Any, str], float] = {}
    for r in table.itertuples():
        best = 0.0
        for x in sups:
            if x["district"] != r.district or r.skill not in x["skills"]:
                continue
            key = (x["key"], r.skill)
            if key not in gains:
                gains[key] = _lp(_with_extra_hour(tables, x, r.skill), travel) - base
            best = max(best, gains[key])
        assert abs(r.marginal_value - best) <= TOL, (r.skill, r.district, r.marginal_value, best)
        if not r.supplier_id:
            assert r.marginal_value == 0 and best <= TOL
            continue
        # The supplier named: the planner's own re-plan with the extra hour there.
        named = next(x for x in sups if x["kind"] == r.supplier_kind and x["id"] == r.supplier_id)
        again = plan(dataset_from_frames(_with_extra_hour(tables, named, r.skill)), params)
        assert abs(again.objective - p.objective - r.marginal_value) <= TOL
        if named["skills"] == {r.skill} and named["kind"] == "cadre":
            plus = dict(tables)
            cad = tables["cadres"].copy()
            cad.loc[cad["cadre_id"] == named["id"], "hours"] += 1
            plus["cadres"] = cad
            gained = plan(dataset_from_frames(plus), params).objective - p.objective
            assert abs(gained - r.marginal_value) <= TOL


def _apply_moves(p: Any, tables: dict[str, pd.DataFrame], row: Any, travel: float) -> None:
    """The moves must turn the plan into a feasible one worth exactly ``marginal_value``
    more, with the extra hour at the named supplier and one more hour covered at
    ``gaining_demand_id`` (or none)."""
    model = reference_model(tables, travel_cost_per_km=travel)
    flow: dict[tuple[str, str], int] = {}
    for a in p.assignments.itertuples():
        flow[a.supplier_id, a.demand_id] = flow.get((a.supplier_id, a.demand_id), 0) + a.hours
    moves = [m.split(" ") for m in row.moves.split("; ")]
    first_sup, first_dem = moves[0][1].split("->")
    assert moves[0][0] == "+1" and first_sup == row.supplier_id and first_dem == row.demand_id
    value = 0.0
    weight = {(k[1], k[2]): arc.weight for k, arc in model.arcs.items()}
    extra = ("EXTRA", first_dem)
    flow[extra] = 1
    value += weight[first_sup, first_dem]
    for sign, pair in moves[1:]:
        sup, dem = pair.split("->")
        delta = int(sign)
        flow[sup, dem] = flow.get((sup, dem), 0) + delta
        assert flow[sup, dem] >= 0
        value += delta * weight[sup, dem]
    assert abs(value - row.marginal_value) <= TOL
    hours = {k[1]: s.hours for k, s in model.suppliers.items()}
    used: dict[str, int] = {}
    covered: dict[str, int] = {}
    for (sup, dem), h in flow.items():
        if sup != "EXTRA":
            used[sup] = used.get(sup, 0) + h
        covered[dem] = covered.get(dem, 0) + h
    assert all(h <= hours[s] for s, h in used.items())
    assert all(h <= model.demands[d].hours for d, h in covered.items())
    before = p.demand_status.set_index("demand_id")["covered_hours"].to_dict()
    gained = [d for d in before if covered.get(d, 0) > before[d]]
    assert gained == ([row.gaining_demand_id] if row.gaining_demand_id else [])


@pytest.mark.parametrize(("profile", "seed", "travel"), CASES)
def test_bottleneck_moves_are_feasible_and_worth_the_value(
    profile: str, seed: int, travel: float
) -> None:
    tables = random_tables(seed, PROFILES[profile])
    ds = dataset_from_frames(tables)
    p = plan(ds, PlanParams(travel_cost_per_km=travel))
    table = bottlenecks(p, ds)
    assert (table["supplier_id"] != "").any()
    for row in table[table["supplier_id"] != ""].itertuples():
        _apply_moves(p, tables, row, travel)


@pytest.mark.parametrize(("profile", "seed"), [("small", 2), ("dense", 1)])
def test_duals_and_resolves_agree(profile: str, seed: int) -> None:
    ds = dataset_from_frames(random_tables(seed, PROFILES[profile]))
    p = plan(ds)
    duals = bottlenecks(p, ds)
    resolved = bottlenecks(p, ds, ExplainParams(method="resolve"))
    merged = duals.merge(resolved, on=["skill", "district"], suffixes=("", "_re"))
    assert len(merged) == len(duals) == len(resolved)
    assert np.allclose(merged["marginal_value"], merged["marginal_value_re"], atol=TOL)


def test_degenerate_hour_is_worth_its_right_derivative() -> None:
    """A supplier and a demand that exactly use each other up: the LP is degenerate (an
    LP solver may price either constraint); one more hour of the skill is worth nothing,
    one more hour of the other skill (whose demand is unserved) is worth its score."""
    folder = DATA / "explain" / "degenerate"
    ds = load_dataset(folder)
    p = plan(ds)
    table = bottlenecks(p, ds).set_index("skill")
    tables = ds.tables()
    base = _lp(tables)
    for skill, cadre in (("elderly_care", "K1"), ("legal_aid", "K2")):
        sup = {"kind": "cadre", "id": cadre}
        gain = _lp(_with_extra_hour(tables, sup, skill)) - base
        assert abs(table.loc[skill, "marginal_value"] - gain) <= TOL
    assert table.loc["elderly_care", "marginal_value"] == 0
    assert table.loc["legal_aid", "marginal_value"] == pytest.approx(2.0)


def test_assignment_values_are_the_objective_terms() -> None:
    for seed in (1, 2, 3):
        tables = random_tables(seed)
        ds = dataset_from_frames(tables)
        p = plan(ds)
        model = reference_model(tables)
        values = assignment_values(p, ds)
        assert len(values) == len(p.assignments)
        for r in values.itertuples():
            arc = model.arcs[r.supplier_kind, r.supplier_id, r.demand_id]
            assert r.tie == arc.tie
            assert abs(r.hour_score - arc.weight) <= TOL
            assert abs(r.value - r.hours * arc.weight) <= TOL
        assert abs(values["value"].sum() - p.objective) <= 1e-5


@pytest.mark.parametrize(("seed", "travel"), [(2, 0.05), (3, 0.05), (10, 0.05), (8, 0.6)])
def test_shortfalls_name_the_nearest_suppliers_and_why_they_went_elsewhere(
    seed: int, travel: float
) -> None:
    tables = random_tables(seed)
    ds = dataset_from_frames(tables)
    p = plan(ds, PlanParams(travel_cost_per_km=travel))
    model = reference_model(tables, travel_cost_per_km=travel)
    values = assignment_values(p, ds)
    short = p.demand_status[p.demand_status["status"] != "met"]
    assert len(short)
    reasons: set[str] = set()
    for d in short.itertuples():
        ex = demand_explanation(p, ds, d.demand_id, ExplainParams(nearest=3))
        assert ex.demand["reason"] == d.reason
        reasons.add(d.reason)
        tied = sorted((arc.km, k[0], k[1]) for k, arc in model.arcs.items() if k[2] == d.demand_id)
        near = ex.nearest
        if tied:
            assert near["eligible"].all()
            assert np.allclose(near["km"], [round(t[0], 4) for t in tied[:3]], atol=1e-4)
            # Same distance: the order may differ; the set of kms may not.
            assert sorted(near["km"]) == sorted(near["km"].tolist())
        else:
            assert d.reason == "no_eligible_supplier" and not near["eligible"].any()
            assert not {(r.supplier_kind, r.supplier_id) for r in near.itertuples()} & {
                (k[0], k[1]) for k in model.arcs if model.demands[k[2]].community == d.community_id
            }
        for r in near.itertuples():
            mine = values[(values["supplier_id"] == r.supplier_id)
                          & (values["supplier_kind"] == r.supplier_kind)]  # fmt: skip
            here = mine[mine["demand_id"] == d.demand_id]["hours"].sum()
            assert r.hours_here == here
            assert r.hours_elsewhere == mine["hours"].sum() - here
            assert r.hours_left == r.hours - mine["hours"].sum()
            if r.eligible:
                arc = model.arcs[r.supplier_kind, r.supplier_id, d.demand_id]
                assert r.tie == arc.tie and abs(r.hour_score - arc.weight) <= TOL
                # An hour elsewhere scoring less than here would have been moved here.
                others = ex.elsewhere[ex.elsewhere["supplier_id"] == r.supplier_id]
                assert (others["hour_score"] >= r.hour_score - TOL).all()
    assert reasons & {"capacity_taken", "too_far"}


def test_unknown_demand_and_wrong_dataset(example_dir: Path, tmp_path: Path) -> None:
    p = plan(example_dir)
    with pytest.raises(ExplainError, match="NOPE"):
        demand_explanation(p, example_dir, "NOPE")
    other = tmp_path / "other"
    shutil.copytree(example_dir, other)
    demands = pd.read_csv(other / "demands.csv")
    demands.loc[0, "hours"] += 1
    demands.to_csv(other / "demands.csv", index=False)
    with pytest.raises(PlanFolderError, match="hash"):
        explain(p, other)


def test_integer_rules_have_no_marginal_values(example_dir: Path) -> None:
    ds = load_dataset(example_dir)
    # CP-SAT, not HiGHS: a HiGHS MIP here would start HiGHS's thread scheduler with two
    # threads, and matcher.solvers.integer.gap's one-thread models
    # (tests/solvers/test_gap.py, run later in the same process) would then fail to run.
    p = plan(ds, PlanParams(max_communities_per_cadre=1, integer_solver="cpsat"))
    with pytest.raises(ExplainError, match="max_communities_per_cadre"):
        bottlenecks(p, ds)
    ex = explain(p, ds)
    assert ex.bottlenecks is None and "integer rules" in ex.notes[0]
    assert len(ex.summaries) and "Bottleneck" not in " ".join(ex.summaries["text"])


_NUM = re.compile(r"\d[\d,]*(?:\.\d+)?")


def _numbers(text: str) -> list[float]:
    return [float(x.replace(",", "")) for x in _NUM.findall(text)]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_summary_numbers_are_the_tables_numbers(example_dir: Path, lang: str) -> None:
    tables = random_tables(3, PROFILES["dense"])
    for ds in (load_dataset(example_dir), dataset_from_frames(tables)):
        p = plan(ds)
        st = p.demand_status
        top = bottlenecks(p, ds)
        table = summaries(p, ds, ExplainParams(langs=(lang,), top=2), top)
        comm_district = dict(
            zip(ds.communities["community_id"], ds.communities["district"], strict=True)
        )
        unit_names = dict(zip(ds.units["unit_id"], ds.units["name"], strict=True))
        for r in table.itertuples():
            assert r.lang == lang
            col = "district" if r.scope == "district" else "community_id"
            mine = st[st[col] == r.id]
            a = p.assignments
            a = (
                a[a["community_id"].map(comm_district) == r.id]
                if col == "district"
                else a[a["community_id"] == r.id]
            )
            nums = _numbers(r.text.split("：" if lang == "zh" else ": ", 1)[1])
            demanded, covered = int(mine["hours"].sum()), int(mine["covered_hours"].sum())
            counts = mine["status"].value_counts()
            head = [covered, demanded] if lang == "en" else [demanded, covered]
            head += [round(100 * covered / demanded, 1), len(mine)]
            head += [counts.get(k, 0) for k in ("met", "partial", "unmet")]
            assert nums[: len(head)] == pytest.approx(head), r.text
            rest = nums[len(head) :]
            unmet = (mine["hours"] - mine["covered_hours"]).groupby(mine["category"]).sum()
            unmet = sorted(((-h, c) for c, h in unmet.items() if h > 0))[:2]
            assert rest[: len(unmet)] == [-h for h, _ in unmet]
            for h, c in unmet:
                shown = c if lang == "en" else None
                if shown:
                    assert f"{c} {-h:,} h" in r.text
            by_unit = a.groupby("unit_id")["hours"].sum()
            units = sorted((-h, u) for u, h in by_unit.items())[:2]
            for h, u in units:
                name = display_name(unit_names[u], lang)
                assert (f"{name} {-h:,} h" if lang == "en" else f"{name} {-h:,} 小时") in r.text
            if r.scope == "district":
                best = top[top["district"] == r.id]
                if len(best) and best.iloc[0]["marginal_value"] > 0:
                    assert f"{best.iloc[0]['marginal_value']:.2f}" in r.text


def test_display_names() -> None:
    assert display_name("Military Gate Community (军门社区)", "zh") == "军门社区"
    assert display_name("Military Gate Community (军门社区)", "en") == "Military Gate Community"
    assert display_name("Unit 3 (east)", "zh") == "Unit 3 (east)"
    assert display_name("军门社区", "en") == "军门社区"


def test_plan_folder_gives_the_same_explanation(example_dir: Path, tmp_path: Path) -> None:
    p = plan(example_dir)
    p.write(tmp_path / "plan")
    direct = explain(p, example_dir)
    folder = explain(read_plan(tmp_path / "plan"))
    pd.testing.assert_frame_equal(direct.bottlenecks, folder.bottlenecks)
    pd.testing.assert_frame_equal(direct.summaries, folder.summaries)
    pd.testing.assert_frame_equal(direct.shortfalls, folder.shortfalls, check_dtype=False)
    written = folder.write(tmp_path / "ex")
    assert sorted(x.name for x in written) == [
        "assignment_values.csv",
        "bottlenecks.csv",
        "shortfalls.csv",
        "summaries.csv",
    ]


def test_explain_command(
    example_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", str(example_dir), "--out", str(tmp_path / "plan"), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["explain", str(tmp_path / "plan")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Gulou: 28 of 28") and "Taijiang: 12 of 16" in out
    assert main(["explain", str(tmp_path / "plan"), "--lang", "zh"]) == 0
    assert "台江区：需求 16 小时，已覆盖 12 小时" in capsys.readouterr().out
    assert main(["explain", str(tmp_path / "plan"), "--demand", "D3", "--bottlenecks"]) == 0
    out = capsys.readouterr().out
    assert "Demand D3 (parking, priority 4)" in out and "supply_short" in out
    assert "parking / Gulou -> at cadre K2: serves D3, D3 gains an hour" in out
    assert main(["explain", str(tmp_path / "plan"), "--out", str(tmp_path / "ex")]) == 0
    assert (tmp_path / "ex" / "bottlenecks.csv").exists()
    assert main(["explain", str(tmp_path / "plan"), "--demand", "NOPE"]) == 2
    assert "demand 'NOPE'" in capsys.readouterr().err
    assert main(["explain", str(tmp_path / "nothing")]) == 2
    capsys.readouterr()
    # In Chinese: the demand, the bottlenecks and the errors.
    plan_dir = str(tmp_path / "plan")
    assert main(["explain", plan_dir, "--demand", "D3", "--bottlenecks", "--lang", "zh"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("需求 D3（停车调解，优先级 4）") and "部分满足——supply_short：" in out
    assert "停车调解 / Gulou -> 加在干部 K2：服务 D3，D3 多得 1 小时" in out
    assert main(["explain", plan_dir, "--demand", "NOPE", "--lang", "zh"]) == 2
    assert "需求 'NOPE' 不在数据集" in capsys.readouterr().err


# ---- the explanations in every language -------------------------------------------------


D3_ZH = """\
需求 D3（停车调解，优先级 4），Cangxia New Town (苍霞新城)（C-CANGXIA，Taijiang）：需求 10 小时，\
已覆盖 6 小时，部分满足——supply_short：有联系的供给方时长已全部投入本需求，仍然不足
  由干部 K2（U-MUNI，结对共建，3.08 公里）服务：6 小时 × 3.8458 = 23.0748
  最近的可服务本需求的供给方：
    干部 K2（U-MUNI，结对共建，3.08 公里，在此每小时得分 3.8458）：在此 6 小时，在别处 0 小时，\
剩余 0 小时"""


def test_a_demand_explained_in_chinese(example_dir: Path) -> None:
    p = plan(example_dir)
    ex = demand_explanation(p, example_dir, "D3")
    assert ex.text("zh") == D3_ZH
    assert ex.text() == ex.text("en") and ex.text().startswith("Demand D3 (parking, priority 4)")
    # What the nearest suppliers serve instead, and the reason, in the reader's language.
    d4 = demand_explanation(p, example_dir, "D4")
    zh = d4.to_dict("zh")
    # The service renders what it keeps (the English dict) the same way.
    assert explanation_in(d4.to_dict(), "zh") == zh
    assert explanation_in(d4.to_dict(), "en") == d4.to_dict()
    assert zh["reason_text"] == "" and zh["demand"] == d4.to_dict()["demand"]
    instead = {n["supplier_id"]: n["serves_instead"] for n in zh["nearest"]}
    assert instead["R1"] == "D1（养老照护，优先级 5）12 小时，每小时得分 4.9837"
    assert d4.to_dict()["nearest"] == _records_of(d4.nearest)
    assert "  服务 R1（U-JCY，就近服务，2.37 公里，" in d4.text("zh")
    assert demand_explanation(p, example_dir, "D3").to_dict("zh")["reason_text"] == (
        "有联系的供给方时长已全部投入本需求，仍然不足"
    )


def _records_of(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {str(k): (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        for row in frame.to_dict("records")
    ]


def test_chinese_summaries_and_bottlenecks_come_from_the_catalogue(example_dir: Path) -> None:
    p = plan(example_dir)
    top = bottlenecks(p, example_dir)
    table = summaries(p, example_dir, ExplainParams(langs=("zh", "en")), top)
    text = {(str(r.lang), str(r.id)): str(r.text) for r in table.itertuples()}
    assert text["zh", "Taijiang"] == (
        "台江区：需求 16 小时，已覆盖 12 小时（75.0%）；共 2 项需求，满足 1 项，"
        "部分满足 1 项，未满足 0 项。缺口最大：停车调解 4 小时（供给不足）。"
        "出力最多的单位：Municipal bureau A 12 小时。"
    )
    assert text["en", "Taijiang"] == (
        "Taijiang: 12 of 16 demanded hours covered (75.0%); 2 demands: 1 met, 1 partial, "
        "0 unmet. Largest shortfalls: parking 4 h (supply short). Most hours from: "
        "Municipal bureau A 12 h."
    )
    assert text["zh", "Gulou"].endswith(
        "瓶颈技能：本区供给方每多 1 小时停车调解，目标值可增加 3.85。"
    )
    assert text["en", "C-TANGBIAN"].startswith("Tangbian Community: 8 of 8 demanded hours")
    assert "1 demand: 1 met" in text["en", "C-TANGBIAN"]
    assert text["zh", "C-TANGBIAN"].startswith("塘边社区：需求 8 小时")
    lines = format_bottlenecks(top, top=1, lang="zh").splitlines()
    assert lines == [
        "排名  价值      技能 / 区 -> 这一小时的去向",
        "   1    3.8458  停车调解 / Gulou -> 加在干部 K2：服务 D3，D3 多得 1 小时",
    ]


def test_errors_and_notes_render_in_chinese(example_dir: Path) -> None:
    p = plan(example_dir)
    with pytest.raises(ExplainError) as caught:
        demand_explanation(p, example_dir, "NOPE")
    message = caught.value.args[0]
    assert isinstance(message, Text)
    assert str(message).startswith("demand 'NOPE' is not in dataset")
    assert message.render("zh").startswith("需求 'NOPE' 不在数据集")
    ds = load_dataset(example_dir)
    p = plan(ds, PlanParams(max_communities_per_cadre=1, integer_solver="cpsat"))
    note = explain(p, ds).notes[0]
    assert isinstance(note, Text)
    assert note.startswith("bottlenecks: marginal values are those of the labour flow")
    assert note.render("zh").startswith("瓶颈：边际价值是人力流模型的边际价值")
    assert "max_communities_per_cadre" in note.render("zh")


FRENCH = """msgid ""
msgstr ""
"Content-Type: text/plain; charset=utf-8\\n"
"Plural-Forms: nplurals=2; plural=(n > 1);\\n"

msgid ""
"{name}: {covered} of {demanded} demanded hours covered ({pct}); {n} demand: "
"{met} met, {partial} partial, {unmet} unmet."
msgid_plural ""
"{name}: {covered} of {demanded} demanded hours covered ({pct}); {n} demands: "
"{met} met, {partial} partial, {unmet} unmet."
msgstr[0] ""
"{name} : {covered} heures couvertes sur {demanded} ({pct}) ; {n} demande : "
"satisfaites {met}, partielles {partial}, non satisfaites {unmet}."
msgstr[1] ""
"{name} : {covered} heures couvertes sur {demanded} ({pct}) ; {n} demandes : "
"satisfaites {met}, partielles {partial}, non satisfaites {unmet}."

msgid "supply short"
msgstr "offre insuffisante"

msgid "all the tied suppliers' hours came here and still fell short"
msgstr "toutes les heures des fournisseurs liés sont venues ici, sans suffire"

msgctxt "demand status"
msgid "partial"
msgstr "partielle"
"""


@pytest.fixture
def french(add_catalogue: Any) -> None:
    """A French catalogue beside the Chinese one: no code knows French."""
    add_catalogue("fr", FRENCH)


def test_a_language_without_a_catalogue_is_refused(example_dir: Path) -> None:
    with pytest.raises(ParameterError, match="langs"):
        ExplainParams(langs=("fr",))
    with pytest.raises(ParameterError, match="langs"):
        ExplainParams(langs=())


def test_a_new_language_is_a_new_catalogue(french: Any, example_dir: Path) -> None:
    p = plan(example_dir)
    table = summaries(p, example_dir, ExplainParams(langs=("fr",)))
    text = {str(i): str(t) for i, t in zip(table["id"], table["text"], strict=True)}
    # Translated sentences in French, the others in English (the catalogue lacks them).
    assert text["Taijiang"] == (
        "Taijiang : 12 heures couvertes sur 16 (75.0%) ; 2 demandes : satisfaites 1, "
        "partielles 1, non satisfaites 0. Largest shortfalls: parking 4 h (offre insuffisante). "
        "Most hours from: Municipal bureau A 12 h."
    )
    assert text["C-TANGBIAN"].startswith(
        "Tangbian Community : 8 heures couvertes sur 8 (100.0%) ; 1 demande :"
    )
    d3 = demand_explanation(p, example_dir, "D3")
    assert (
        d3.text("fr")
        .splitlines()[0]
        .endswith(
            "6 of 10 hours covered, partielle -- supply_short: toutes les heures des fournisseurs "
            "liés sont venues ici, sans suffire"
        )
    )
    assert d3.to_dict("fr")["reason_text"].startswith("toutes les heures")
