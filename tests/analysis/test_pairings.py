"""Pairing recommendations: checked against re-planning and enumeration, never against
the recommender's own numbers."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

import matcher
from matcher.analysis.recommend import (
    Candidates,
    PairingParams,
    Scope,
    choose_pairings,
    exact_gains,
    find_candidates,
    proxy_values,
    recommend_pairings,
)
from matcher.cli import main
from matcher.errors import DatasetError, InfeasibleError, ParameterError
from matcher.inputs.dataset import Dataset, dataset_from_frames, load_dataset
from matcher.model.arcs import build_problem
from matcher.solvers.flow import solve_flow
from tests.conftest import DATA
from tests.factories import SMALL, TINY, random_tables

TINY_DIR = DATA / "pairings" / "tiny"


def _with_pairings(ds: Dataset, rows: list[tuple[str, str]]) -> Dataset:
    extra = pd.DataFrame(rows, columns=["unit_id", "community_id"], dtype=object)
    table = pd.concat([ds.pairings[["unit_id", "community_id"]], extra], ignore_index=True)
    return ds.replace(pairings=table.astype(object))


def _objective(ds: Dataset) -> float:
    return matcher.plan(ds).objective


def _feasible(ds: Dataset, chosen: tuple[tuple[str, str], ...], min_p: int, cap: int) -> bool:
    pairs = [*zip(ds.pairings["unit_id"], ds.pairings["community_id"], strict=True), *chosen]
    per_comm = pd.Series([c for _, c in pairs]).value_counts()
    per_unit = pd.Series([u for u, _ in pairs]).value_counts()
    comms_ok = all(per_comm.get(c, 0) >= min_p for c in ds.communities["community_id"])
    return comms_ok and all(per_unit.get(u, 0) <= cap for u in ds.units["unit_id"])


def _enumerate_best(ds: Dataset, min_p: int, cap: int) -> float:
    """The best true objective over every feasible set of new pairings, by re-planning."""
    paired = set(zip(ds.pairings["unit_id"], ds.pairings["community_id"], strict=True))
    pool = [
        (u, c)
        for u in ds.units["unit_id"]
        for c in ds.communities["community_id"]
        if (u, c) not in paired
    ]
    best = -np.inf
    for r in range(len(pool) + 1):
        for chosen in itertools.combinations(pool, r):
            if _feasible(ds, chosen, min_p, cap):
                best = max(best, _objective(_with_pairings(ds, list(chosen))))
    return float(best)


def test_tiny_best_pairing_is_the_enumerated_best() -> None:
    ds = load_dataset(TINY_DIR)
    r = recommend_pairings(ds, PairingParams(max_communities=1, value="exact"))
    got = set(zip(r.recommendations["unit_id"], r.recommendations["community_id"], strict=True))
    assert got == {("U1", "C1"), ("U2", "C2"), ("U3", "C3")}
    best = _enumerate_best(ds, 1, 1)
    assert r.after.objective == pytest.approx(best, abs=1e-6)
    assert r.gain == pytest.approx(best - _objective(ds), abs=1e-6)
    assert r.gain > 0


def test_tiny_proxy_finds_the_same_pairing() -> None:
    r = recommend_pairings(TINY_DIR, PairingParams(max_communities=1, value="proxy"))
    assert r.after.objective == pytest.approx(_enumerate_best(load_dataset(TINY_DIR), 1, 1))


@pytest.mark.parametrize("seed", range(4))
def test_random_tiny_constraints_and_gain(seed: int) -> None:
    ds = dataset_from_frames(random_tables(seed, TINY))
    for min_p, cap in ((1, 2),):
        try:
            r = recommend_pairings(ds, PairingParams(min_partners=min_p, max_communities=cap))
        except InfeasibleError:
            # Then no feasible set exists: enumeration must agree.
            assert _enumerate_best(ds, min_p, cap) == -np.inf
            continue
        after = r.dataset
        counts = after.pairings["community_id"].value_counts()
        assert all(counts.get(c, 0) >= min_p for c in ds.communities["community_id"])
        new = r.recommendations["unit_id"].value_counts()
        before = ds.pairings["unit_id"].value_counts()
        for u in ds.units["unit_id"]:
            assert before.get(u, 0) + new.get(u, 0) <= max(cap, before.get(u, 0))
        # Existing pairings stay.
        old = set(zip(ds.pairings["unit_id"], ds.pairings["community_id"], strict=True))
        assert old <= set(
            zip(after.pairings["unit_id"], after.pairings["community_id"], strict=True)
        )
        # The recommended ties never lower the plan, and never beat the enumerated best.
        assert _objective(after) == pytest.approx(r.after.objective)
        assert r.after.objective >= r.before.objective - 1e-9
        assert r.after.objective <= _enumerate_best(ds, min_p, cap) + 1e-6


def test_exact_gain_equals_a_re_plan_with_the_pairing() -> None:
    ds = dataset_from_frames(random_tables(4, SMALL))
    problem = build_problem(ds)
    flow = solve_flow(problem)
    cands = find_candidates(
        problem, ds, np.ones(len(ds.communities), bool), np.ones(len(ds.units), bool), None
    )
    gains, _ = exact_gains(problem, cands, flow.flow, np.arange(len(cands)))
    base = _objective(ds)
    unit_ids = ds.units["unit_id"].to_numpy(object)
    comm_ids = ds.communities["community_id"].to_numpy(object)
    checked = 0
    for k in range(0, len(cands), max(len(cands) // 12, 1)):
        pair = (unit_ids[cands.unit[k]], comm_ids[cands.community[k]])
        true = _objective(_with_pairings(ds, [pair])) - base
        assert gains[k] == pytest.approx(max(true, 0.0), abs=1e-5)
        checked += 1
    assert checked >= 6 and (gains > 0).any()


def test_proxy_ranks_like_the_true_gain() -> None:
    """Spearman correlation of proxy values and true single-pairing gains (re-solves) on
    seeded random cities: strongly positive on average, positive on each."""
    rhos = []
    for seed in range(1, 11):
        ds = dataset_from_frames(random_tables(seed, SMALL))
        problem = build_problem(ds)
        flow = solve_flow(problem)
        cands = find_candidates(
            problem, ds, np.ones(len(ds.communities), bool), np.ones(len(ds.units), bool), None
        )
        some = np.flatnonzero(np.bincount(cands.arc_pair, minlength=len(cands)) > 0)
        if len(some) < 5:
            continue
        exact, _ = exact_gains(problem, cands, flow.flow, some)
        proxy, _ = proxy_values(problem, cands, flow.flow)
        rhos.append(spearmanr(proxy[some], exact[some]).statistic)
    assert len(rhos) >= 6
    assert np.mean(rhos) >= 0.75, rhos
    assert min(rhos) >= 0.4, rhos


def _brute_choose(
    values: np.ndarray,
    served: list[dict[str, int]],
    unmet: dict[tuple[int, str], int],
    comm: np.ndarray,
    unit: np.ndarray,
    km: np.ndarray,
    need: dict[int, int],
    room: dict[int, int],
    penalty: float,
) -> float:
    """The model's objective, maximized by trying every subset (cells filled greedily by
    value per hour, which is optimal for one cell)."""
    best = -np.inf
    n = len(values)
    for mask in itertools.product((0, 1), repeat=n):
        pick = [k for k in range(n) if mask[k]]
        if any(sum(comm[k] == c for k in pick) < m for c, m in need.items()):
            continue
        if any(sum(unit[k] == u for k in pick) > r for u, r in room.items()):
            continue
        total = 0.0
        cells: dict[tuple[int, str], list[tuple[float, int]]] = {}
        for k in pick:
            total -= penalty * km[k]
            hours = sum(served[k].values())
            if hours == 0:
                total += values[k]
                continue
            for cat, h in served[k].items():
                cells.setdefault((int(comm[k]), cat), []).append((values[k] / hours, h))
        for cell, offers in cells.items():
            left = unmet.get(cell, 0)
            for rate, h in sorted(offers, reverse=True):
                take = min(h, left)
                total += rate * take
                left -= take
        best = max(best, total)
    return best


@pytest.mark.parametrize("seed", range(8))
def test_choice_model_matches_enumeration(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_c, n_u = 3, 3
    comm = np.repeat(np.arange(n_c), n_u)
    unit = np.tile(np.arange(n_u), n_c)
    km = rng.uniform(1, 20, len(comm))
    values = np.where(rng.random(len(comm)) < 0.3, 0.0, rng.uniform(0, 30, len(comm)))
    cats = ("a", "b")
    served = [
        {c: int(rng.integers(1, 9)) for c in cats if rng.random() < 0.6} if v > 0 else {}
        for v in values
    ]
    unmet = {(c, cat): int(rng.integers(0, 10)) for c in range(n_c) for cat in cats}
    cap = int(rng.integers(1, 3))

    c = Candidates(unit, comm, km, np.zeros(len(comm), bool), *(np.zeros(0, np.int64),) * 3,
                   np.zeros(0), np.zeros(0))  # fmt: skip
    comms = pd.DataFrame({"community_id": [f"C{i}" for i in range(n_c)]})
    units = pd.DataFrame({"unit_id": [f"U{i}" for i in range(n_u)]})
    params = PairingParams(min_partners=1, max_communities=cap, km_penalty=0.01)
    chosen, value = choose_pairings(
        c,
        values,
        np.zeros(n_c, np.int64),
        np.zeros(n_u, np.int64),
        np.full(n_u, cap),
        np.ones(n_c, bool),
        np.array(["D"] * n_c, dtype=object),
        params,
        units,
        comms,
        served,
        unmet,
    )
    best = _brute_choose(values, served, unmet, comm, unit, km, dict.fromkeys(range(n_c), 1),
                         dict.fromkeys(range(n_u), cap), 0.01)  # fmt: skip
    # The model works in 1e-4 units: rounding of a few terms is all that may differ.
    assert value == pytest.approx(best, abs=5e-3)
    for i in range(n_c):
        assert chosen[comm == i].sum() >= 1
    for u in range(n_u):
        assert chosen[unit == u].sum() <= cap


def test_per_unit_cap_column(tmp_path: Path) -> None:
    ds = load_dataset(TINY_DIR)
    units = ds.units.assign(max_communities=["3", "0", ""])
    r = recommend_pairings(ds.replace(units=units), PairingParams(max_communities=1))
    load = r.recommendations["unit_id"].value_counts()
    assert load.get("U2", 0) == 0 and load.get("U3", 0) <= 1
    assert load.get("U1", 0) >= 2  # U1 takes C2 too, since U2 may take none
    bad = ds.units.assign(max_communities=["3", "two", ""])
    with pytest.raises(DatasetError) as err:
        recommend_pairings(ds.replace(units=bad))
    assert "row 3" in str(err.value) and "max_communities" in str(err.value)


def test_existing_pairings_stay_unless_reconsidered() -> None:
    ds = _with_pairings(load_dataset(TINY_DIR), [("U2", "C1")])
    kept = recommend_pairings(ds, PairingParams(max_communities=1))
    pairs = set(zip(kept.dataset.pairings["unit_id"], kept.dataset.pairings["community_id"],
                    strict=True))  # fmt: skip
    assert ("U2", "C1") in pairs
    fresh = recommend_pairings(ds, PairingParams(max_communities=1, reconsider=True))
    pairs = set(zip(fresh.dataset.pairings["unit_id"], fresh.dataset.pairings["community_id"],
                    strict=True))  # fmt: skip
    assert pairs == {("U1", "C1"), ("U2", "C2"), ("U3", "C3")}
    assert fresh.recommendations.query("status == 'dropped'")["unit_id"].tolist() == ["U2"]
    assert fresh.after.objective > kept.after.objective


def test_scope_and_infeasible_and_bad_scope() -> None:
    r = recommend_pairings(TINY_DIR, PairingParams(scope=Scope.from_strings(["district=Taijiang"])))
    assert set(r.recommendations["community_id"]) == {"C3"}
    with pytest.raises(InfeasibleError) as err:
        recommend_pairings(TINY_DIR, PairingParams(min_partners=2, max_communities=1))
    assert "C1" in str(err.value) or "room" in str(err.value)
    with pytest.raises(ParameterError):
        Scope.from_strings(["district=Nowhere"]).mask(load_dataset(TINY_DIR).communities)
    with pytest.raises(ParameterError):
        PairingParams(value="guess")


def test_balance_spreads_pairings_over_districts() -> None:
    # Only the Gulou communities are worth pairing: unbalanced, everything goes there.
    ds = load_dataset(TINY_DIR)
    free = recommend_pairings(ds, PairingParams(min_partners=0, max_communities=3))
    d = free.districts.set_index("district")
    assert d.loc["Gulou", "pairings_after"] >= 2
    fair = recommend_pairings(ds, PairingParams(min_partners=0, max_communities=3, balance=True))
    d = fair.districts.set_index("district")
    total = int(d["pairings_after"].sum())
    for name, row in d.iterrows():
        share = total * row["communities"] / d["communities"].sum()
        assert abs(row["pairings_after"] - share) <= 1 + 1e-9, name
    assert set(fair.units.columns) >= {"unit_id", "cap", "load_before", "load_after"}


def test_cli_writes_recommendation_and_applied_dataset(tmp_path: Path) -> None:
    out, applied = tmp_path / "rec", tmp_path / "applied"
    code = main(["pairings", str(TINY_DIR), "--out", str(out), "--max-communities", "1",
                 "--apply", str(applied)])  # fmt: skip
    assert code == 0
    table = pd.read_csv(out / "pairings.csv")
    assert (table["status"] == "new").sum() == 3
    assert {"before_after.csv", "pairing_recommendations.csv", "pairing_summary.json"} <= {
        p.name for p in out.iterdir()
    }
    ba = pd.read_csv(out / "before_after.csv", keep_default_na=False)
    ba = ba[ba["district"] == ""].set_index("kpi")
    planned = matcher.plan(load_dataset(applied))
    assert float(ba.loc["objective", "after"]) == pytest.approx(planned.objective, abs=1e-5)
    assert main(["pairings", str(TINY_DIR), "--out", str(out), "--scope", "street=Nope"]) == 2


def test_messages_and_report_in_chinese() -> None:
    with pytest.raises(InfeasibleError) as err:
        recommend_pairings(TINY_DIR, PairingParams(min_partners=2, max_communities=1))
    zh = err.value.render("zh")
    assert zh.startswith("没有能满足全部整数规则的方案：\n  - [pairings] ")
    assert "范围内的社区还需 6 对结对，但候选单位在上限之内只能再结对 3 对" in zh
    assert "the communities in scope need 6 more pairings" in str(err.value)
    with pytest.raises(ParameterError) as bad:
        Scope.from_strings(["district=Nowhere"]).mask(load_dataset(TINY_DIR).communities)
    assert (
        bad.value.render("zh")
        == "参数 scope='district=Nowhere'：应为数据集中某个社区具有的 district"
    )
    with pytest.raises(ParameterError) as bad:
        PairingParams(max_partners=0, min_partners=1)
    assert bad.value.render("zh").endswith("应为不小于 min_partners=1")
    r = recommend_pairings(TINY_DIR, PairingParams(max_communities=1))
    english, chinese = r.text(), r.text("zh")
    assert english.startswith("Pairings for all communities: 3 new (")
    assert chinese.startswith("全部社区的结对共建：新增 3 对（")
    assert "前后对比：" in chinese and "Before/after:" in english
    # Ids and indicators keep their codes in both.
    assert all(u in chinese for u in r.recommendations["unit_id"])
    assert "objective" in chinese.split("前后对比：")[1]


def test_cli_report_in_chinese(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rec"
    args = ["pairings", str(TINY_DIR), "--out", str(out), "--max-communities", "1"]
    assert main([*args, "--lang", "zh"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("全部社区的结对共建：") and f"写入 {out}" in printed
    assert main(["pairings", str(TINY_DIR), "--out", str(out), "--scope", "x", "--lang", "zh"]) == 2
    assert capsys.readouterr().err.startswith("错误：参数 scope='x'：应为“键=值”的形式")
