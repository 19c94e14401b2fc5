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

from matcher.i18n import N_, translator
from matcher.inputs.schema import TABLES, TABLES_BY_NAME

__all__ = [
    "CATEGORIES",
    "COLUMNS",
    "DISTRICTS",
    "LANGS",
    "LIST_SEPARATORS",
    "NOTES",
    "RESOURCE_KINDS",
    "SHEETS",
    "TIES",
    "UNIT_KINDS",
    "UNIT_LEVELS",
    "VALUES",
    "category_name",
    "column_lookup",
    "column_note",
    "district_name",
    "fold",
    "header_name",
    "sheet_name",
    "sheet_table",
    "tie_name",
    "value_lookup",
    "value_name",
    "value_words",
]

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

# The category codes the planner uses (matcher.inputs.generate.CATEGORIES): Chinese names.
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
    "translation": ("翻译",),
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

# The ties of the plan tables' `tie` column (matcher.model.arcs.TIES): output only.
TIES: dict[str, tuple[str, ...]] = {
    "residence": ("居住地报到",),
    "pairing": ("结对共建",),
    "alliance": ("近邻红色联盟",),
    "proximity": ("就近服务",),
}

# Fuzhou's urban districts as the generator and the demo name them: output only (a
# workbook's district cells are free text and kept as typed).
DISTRICTS: dict[str, tuple[str, ...]] = {
    "Gulou": ("鼓楼区",),
    "Taijiang": ("台江区",),
    "Cangshan": ("仓山区",),
    "Jin'an": ("晋安区",),
    "Mawei": ("马尾区",),
    "Changle": ("长乐区",),
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

# What each column holds: the note on a template's header cell (matcher.inputs.template), which
# adds what the schema says (required or not, the type, the range, the allowed values).
# English, marked for translation: the other languages' texts are in the catalogues
# (matcher/locale). Every column of the spec must have one.
NOTES: dict[tuple[str, str], str] = {
    ("communities", "community_id"): N_("The community's id, unique"),
    ("communities", "name"): N_("The community's name"),
    ("communities", "district"): N_("The district it is in"),
    ("communities", "street"): N_("The street (sub-district) it is in"),
    ("communities", "lat"): N_("Latitude, in degrees"),
    ("communities", "lon"): N_("Longitude, in degrees"),
    ("communities", "households"): N_("Number of households"),
    ("units", "unit_id"): N_("The unit's id, unique"),
    ("units", "name"): N_("The unit's name"),
    ("units", "kind"): N_("What kind of unit"),
    ("units", "level"): N_("The unit's level"),
    ("units", "district"): N_("The district it is in"),
    ("units", "lat"): N_("Latitude, in degrees"),
    ("units", "lon"): N_("Longitude, in degrees"),
    ("units", "lead_capacity"): N_("The effort the unit can lead (lead options)"),
    ("cadres", "cadre_id"): N_("The cadre's id, unique"),
    ("cadres", "unit_id"): N_("The unit the cadre works for"),
    ("cadres", "skills"): N_("What the cadre can help with: categories joined by ';'"),
    ("cadres", "hours"): N_("Hours the cadre can give, in hours"),
    ("cadres", "home_community_id"): N_("The community the cadre lives in (community id)"),
    ("cadres", "lat"): N_("Latitude of the cadre's home, in degrees"),
    ("cadres", "lon"): N_("Longitude of the cadre's home, in degrees"),
    ("demands", "demand_id"): N_("The demand's id, unique"),
    ("demands", "community_id"): N_("The community that needs it"),
    ("demands", "category"): N_("What is needed (a category)"),
    ("demands", "hours"): N_("Hours needed, in hours"),
    ("demands", "priority"): N_("Priority, 1 (low) to 5 (urgent)"),
    ("demands", "min_hours"): N_("Fewer hours than this are of no use, in hours"),
    ("demands", "funds"): N_("Money needed, in yuan"),
    ("demands", "description"): N_("What the demand is about"),
    ("resources", "resource_id"): N_("The resource's id, unique"),
    ("resources", "unit_id"): N_("The unit giving it"),
    ("resources", "kind"): N_("Service hours or funds"),
    ("resources", "categories"): N_("The categories it may serve, joined by ';' (empty: any)"),
    ("resources", "amount"): N_("How much: hours for a service, yuan for funds"),
    ("resources", "range_km"): N_("How far it reaches, in km"),
    ("pairings", "unit_id"): N_("The paired unit"),
    ("pairings", "community_id"): N_("The paired community"),
    ("alliances", "alliance_id"): N_("The alliance's id, unique"),
    ("alliances", "name"): N_("The alliance's name"),
    ("alliances", "district"): N_("The district it is in"),
    ("alliances", "street"): N_("The street (sub-district) it serves"),
    ("alliance_members", "alliance_id"): N_("The alliance"),
    ("alliance_members", "unit_id"): N_("A member unit"),
    ("lead_options", "demand_id"): N_("The demand a unit may lead"),
    ("lead_options", "unit_id"): N_("The unit that may lead it"),
    ("lead_options", "effort"): N_("The effort leading it takes"),
    ("lead_options", "cost"): N_("The cost of this unit leading it"),
}


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


LANGS = ("zh", "en")


def sheet_name(table: str, lang: str) -> str:
    """The usual name of ``table``'s sheet: its first Chinese name, or the table's."""
    return SHEETS[table][0] if lang == "zh" else table


def header_name(column: str, lang: str) -> str:
    """The usual header of ``column``: its first Chinese name, or the column's."""
    return COLUMNS[column][0] if lang == "zh" else column


def value_words(table: str, column: str) -> dict[str, tuple[str, ...]] | None:
    """The codes (with their Chinese names) a coded column takes; else ``None``."""
    return VALUES.get((table, column))


def value_name(table: str, column: str, code: str, lang: str) -> str:
    """A code of a coded column as written in ``lang``: its first Chinese name in
    ``zh``; the code itself in ``en``, or when the alias table has no name for it."""
    words = VALUES.get((table, column))
    if lang != "zh" or words is None or not words.get(code):
        return code
    return words[code][0]


def category_name(code: str, lang: str) -> str:
    """A demand category as written in ``lang`` (养老照护 for ``elderly_care`` in zh)."""
    return value_name("demands", "category", code, lang)


def tie_name(code: str, lang: str) -> str:
    """A tie as written in ``lang`` (结对共建 for ``pairing`` in zh)."""
    return TIES[code][0] if lang == "zh" and code in TIES else code


def district_name(name: str, lang: str) -> str:
    """A district as written in ``lang`` (鼓楼区 for ``Gulou`` in zh); a district the
    table does not know is shown as the data names it."""
    return DISTRICTS[name][0] if lang == "zh" and name in DISTRICTS else name


def column_note(table: str, column: str, lang: str) -> str:
    """What ``column`` of ``table`` holds, in ``lang``: its text of :data:`NOTES`, through
    ``lang``'s catalogue (English when the catalogue lacks it).

    >>> column_note("demands", "priority", "zh")
    '优先级，1(低)到5(紧急)'
    """
    return translator(lang)(NOTES[(table, column)])


def _check() -> None:
    """Every column of the spec has a Chinese name and a note (a new column must get
    them; the note's translations are the catalogues' business, checked by
    ``tests/test_i18n.py``)."""
    missing = [c.name for t in TABLES for c in t.columns if not COLUMNS.get(c.name)]
    if missing:
        raise RuntimeError(f"columns without a Chinese name in matcher.inputs.aliases: {missing}")
    no_note = [
        f"{t.name}.{c.name}"
        for t in TABLES
        for c in t.columns
        if not NOTES.get((t.name, c.name), "").strip()
    ]
    if no_note:
        raise RuntimeError(f"columns without a note in matcher.inputs.aliases.NOTES: {no_note}")


_check()
