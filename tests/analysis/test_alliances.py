"""Alliance recommendations: the cover against enumeration, the gain by re-planning."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import matcher
from matcher.analysis.recommend import AllianceParams, best_cover, recommend_alliances
from matcher.cli import main
from matcher.errors import ParameterError
from matcher.inputs.dataset import load_dataset
from tests.conftest import DATA

TINY_DIR = DATA / "alliances" / "tiny"


def _enumerate(
    gaps: dict[str, int], supply: dict[str, dict[str, int]], max_members: int | None
) -> tuple[int, int]:
    """(most covered hours, fewest members for them) over every subset of candidates."""
    best = (0, 0)
    names = sorted(supply)
    for r in range(len(names) + 1):
        if max_members is not None and r > max_members:
            break
        for chosen in itertools.combinations(names, r):
            hours = sum(min(h, sum(supply[u].get(g, 0) for u in chosen)) for g, h in gaps.items())
            if hours > best[0] or (hours == best[0] and r < best[1]):
                best = (hours, r)
    return best


@pytest.mark.parametrize("seed", range(20))
def test_cover_matches_enumeration(seed: int) -> None:
    rng = np.random.default_rng(seed)
    cats = [f"c{i}" for i in range(int(rng.integers(1, 5)))]
    gaps = {c: int(rng.integers(1, 30)) for c in cats}
    supply = {
        f"U{i}": {c: int(rng.integers(1, 20)) for c in cats if rng.random() < 0.5}
        for i in range(int(rng.integers(1, 8)))
    }
    km = {u: float(rng.uniform(0.5, 10)) for u in supply}
    max_members = None if seed % 3 else 2
    cover = best_cover(gaps, supply, km, max_members)
    hours, members = _enumerate(gaps, supply, max_members)
    assert cover.covered_hours == hours
    assert len(cover.members) == members
    # What it says it covers, the members do supply.
    for g, h in cover.covered.items():
        assert h <= min(gaps[g], sum(supply[u].get(g, 0) for u in cover.members))


def test_tiny_street_gets_its_alliance() -> None:
    r = recommend_alliances(TINY_DIR)
    gaps = r.gaps.set_index("category")
    assert gaps.loc["digital_help", "unmet_hours"] == 8
    assert gaps.loc["parking", "unmet_hours"] == 4
    assert set(gaps["reasons"]) == {"no_eligible_supplier"}
    rec = r.recommendations.set_index("street").loc["Dongjie"]
    assert rec["members"] == "E1;E2" and bool(rec["new_alliance"])
    assert rec["covered_hours"] == 12 and rec["uncovered"] == ""
    assert "E3" not in set(r.candidates["unit_id"])  # 30 km away
    # The recommended alliance raises the plan, as an independent re-plan confirms.
    assert r.after.objective > r.before.objective
    assert matcher.plan(r.dataset).objective == pytest.approx(r.after.objective)
    assert r.after.kpis["hours_covered"] == r.before.kpis["hours_covered"] + 12


def test_existing_alliance_of_the_street_is_joined() -> None:
    ds = load_dataset(TINY_DIR)
    alliances = pd.DataFrame(
        [{"alliance_id": "A-DJ", "name": "Dongjie", "district": "Gulou", "street": "Dongjie"}]
    )
    # G1 (elderly care only) is a member already: the street's gaps stay.
    members = pd.DataFrame([{"alliance_id": "A-DJ", "unit_id": "G1"}])
    r = recommend_alliances(ds.replace(alliances=alliances, alliance_members=members))
    rec = r.recommendations.set_index("street").loc["Dongjie"]
    assert rec["alliance_id"] == "A-DJ" and not bool(rec["new_alliance"])
    assert rec["members"] == "E1;E2"
    assert (r.alliances["status"] == "new").sum() == 0
    assert r.alliance_members.query("status == 'new'")["unit_id"].tolist() == ["E1", "E2"]
    assert r.after.objective > r.before.objective
    # A street whose gap is only supply_short is not a gap a tie can fix.
    members = pd.DataFrame([{"alliance_id": "A-DJ", "unit_id": "E2"}])
    r = recommend_alliances(ds.replace(alliances=alliances, alliance_members=members))
    assert r.gaps.empty


def test_radius_and_max_members() -> None:
    r = recommend_alliances(TINY_DIR, AllianceParams(radius_km=3))
    assert r.recommendations["members"].tolist() == [""]
    assert r.gain == 0
    r = recommend_alliances(TINY_DIR, AllianceParams(max_members=1))
    rec = r.recommendations.iloc[0]
    assert rec["members"] == "E1" and rec["covered_hours"] == 8
    with pytest.raises(ParameterError):
        AllianceParams(radius_km=0)


def test_cli(tmp_path: Path) -> None:
    out, applied = tmp_path / "rec", tmp_path / "applied"
    assert main(["alliances", str(TINY_DIR), "--out", str(out), "--apply", str(applied)]) == 0
    table = pd.read_csv(out / "alliance_members.csv")
    assert set(table.loc[table["status"] == "new", "unit_id"]) == {"E1", "E2"}
    assert load_dataset(applied).has("alliances")
    assert main(["alliances", str(TINY_DIR), "--out", str(out), "--radius-km", "-1"]) == 2


def test_messages_and_report_in_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ParameterError) as bad:
        AllianceParams(radius_km=0)
    assert bad.value.render("zh") == "参数 radius_km=0：应为大于 0 的距离（公里）"
    r = recommend_alliances(TINY_DIR)
    english, chinese = r.text(), r.text("zh")
    assert english.startswith("Alliances for all communities: 1 streets with demand")
    assert chinese.startswith("全部社区的红色联盟：1 个街道有无联系供给方可服务的需求（12 小时）")
    assert "E1;E2" in chinese and "前后对比：" in chinese
    assert (
        main(["alliances", str(TINY_DIR), "--out", "x", "--radius-km", "-1", "--lang", "zh"]) == 2
    )
    assert capsys.readouterr().err.strip() == "错误：参数 radius_km=-1.0：应为大于 0 的距离（公里）"
