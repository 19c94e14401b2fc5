"""The one table of names a workbook may use: sheets, columns and coded values, in
English (the spec's names) or in Chinese (as the people who keep the lists write them).

Everything a reader accepts besides the spec's English comes from here, and
``docs/excel.md`` renders these tables; add a name in one place.

Names are compared after :func:`fold`: Unicode NFKC (full-width digits, letters and
parentheses become their ASCII forms: ``时长（小时）`` is ``时长(小时)``), white space
removed, English lower-cased.
"""

from __future__ import annotations

import unicodedata

from matcher.schema import TABLES, TABLES_BY_NAME

# Table name: its Chinese sheet names, the first the usual one.
SHEETS: dict[str, tuple[str, ...]] = {
    "communities": ("社区", "社区清单"),
    "units": ("单位", "单位清单"),
    "cadres": ("干部", "干部清单"),
    "demands": ("需求", "需求清单"),
    "resources": ("资源", "资源清单"),
    "pairings": ("结对", "结对关系"),
    "alliances": ("联盟",),
    "alliance_members": ("联盟成员",),
    "lead_options": ("牵头选项",),
}

# Column name: its Chinese headers, the first the usual one. A header is looked up
# among the columns of its own table only, so that one Chinese word may serve two
# tables' columns (类别 is a demand's category and a resource's categories).
COLUMNS: dict[str, tuple[str, ...]] = {
    "community_id": ("社区编号",),
    "name": ("名称",),
    "district": ("区", "所在区"),
    "street": ("街道",),
    "lat": ("纬度",),
    "lon": ("经度",),
    "households": ("户数",),
    "unit_id": ("单位编号",),
    "kind": ("类型",),
    "level": ("层级",),
    "lead_capacity": ("牵头能力",),
    "cadre_id": ("干部编号",),
    "skills": ("技能",),
    "hours": ("时长(小时)", "时长"),
    "home_community_id": ("居住社区",),
    "demand_id": ("需求编号",),
    "category": ("类别",),
    "priority": ("优先级",),
    "min_hours": ("最少时长(小时)", "最少时长"),
    "funds": ("经费",),
    "description": ("描述",),
    "resource_id": ("资源编号",),
    "categories": ("适用类别", "类别"),
    "amount": ("数量",),
    "range_km": ("服务范围(公里)", "服务范围"),
    "alliance_id": ("联盟编号",),
    "effort": ("工作量",),
    "cost": ("成本",),
}

# The category codes the planner uses (matcher.generate.CATEGORIES): Chinese names.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "elderly_care": ("养老照护",),
    "elderly_meals": ("长者助餐",),
    "disability_support": ("助残服务",),
    "legal_aid": ("法律援助",),
    "property_mediation": ("物业纠纷调解",),
    "parking": ("停车调解",),
    "housing_repair": ("房屋维修",),
    "child_care": ("儿童关爱",),
    "environment": ("环境整治",),
    "cultural_activities": ("文化活动",),
    "digital_help": ("数字助老",),
    "employment": ("就业帮扶",),
    "safety_patrol": ("治安巡逻",),
    "epidemic_prevention": ("疫情防控",),
    "health_services": ("卫生健康",),
}

UNIT_KINDS: dict[str, tuple[str, ...]] = {
    "government": ("机关单位", "政府", "机关"),
    "enterprise": ("企业",),
    "social_org": ("社会组织",),
    "institution": ("事业单位",),
}

UNIT_LEVELS: dict[str, tuple[str, ...]] = {
    "municipal": ("市级", "市直"),
    "district": ("区级", "区直"),
    "street": ("街道", "街道级"),
    "none": ("无",),
}

RESOURCE_KINDS: dict[str, tuple[str, ...]] = {
    "service": ("服务",),
    "funds": ("经费", "资金"),
}

# Which coded values each (table, column) takes; these cells are read with the words
# above as well as the codes. Lists (skills, categories) are split on ';', '；' or '、'.
VALUES: dict[tuple[str, str], dict[str, tuple[str, ...]]] = {
    ("units", "kind"): UNIT_KINDS,
    ("units", "level"): UNIT_LEVELS,
    ("resources", "kind"): RESOURCE_KINDS,
    ("demands", "category"): CATEGORIES,
    ("cadres", "skills"): CATEGORIES,
    ("resources", "categories"): CATEGORIES,
}
LIST_SEPARATORS = (";", "；", "、")


def fold(name: str) -> str:
    """A name as compared: NFKC, white space removed, lower case."""
    return "".join(unicodedata.normalize("NFKC", name).split()).lower()


def _lookup(words: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Every accepted spelling, folded, to its code (the code itself included)."""
    found: dict[str, str] = {}
    for code, names in words.items():
        for name in (code, *names):
            found.setdefault(fold(name), code)
    return found


_SHEET_LOOKUP = _lookup(SHEETS)
_VALUE_LOOKUP = {key: _lookup(words) for key, words in VALUES.items()}


def sheet_table(name: str) -> str | None:
    """The table a sheet named ``name`` holds, or ``None``."""
    return _SHEET_LOOKUP.get(fold(name))


def column_lookup(table: str) -> dict[str, str]:
    """For one table: every accepted header, folded, to the column's English name."""
    found: dict[str, str] = {}
    for col in TABLES_BY_NAME[table].columns:
        for name in (col.name, *COLUMNS[col.name]):
            found.setdefault(fold(name), col.name)
    return found


def value_lookup(table: str, column: str) -> dict[str, str] | None:
    """For a coded column: every accepted word, folded, to its code; else ``None``."""
    return _VALUE_LOOKUP.get((table, column))


def _check() -> None:
    """Every column of the spec has a Chinese name (a new column must get one)."""
    missing = [c.name for t in TABLES for c in t.columns if not COLUMNS.get(c.name)]
    if missing:
        raise RuntimeError(f"columns without a Chinese name in matcher.aliases: {missing}")


_check()
