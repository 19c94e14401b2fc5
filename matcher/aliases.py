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

# What each column holds, in English and in Chinese: the note on a template's header
# cell (matcher.template), which adds what the schema says (required or not, the type,
# the range, the allowed values). Every column of the spec must have both texts.
NOTES: dict[tuple[str, str], tuple[str, str]] = {
    ("communities", "community_id"): ("The community's id, unique", "社区的编号，不可重复"),
    ("communities", "name"): ("The community's name", "社区名称"),
    ("communities", "district"): ("The district it is in", "所在区"),
    ("communities", "street"): ("The street (sub-district) it is in", "所在街道"),
    ("communities", "lat"): ("Latitude, in degrees", "纬度(度)"),
    ("communities", "lon"): ("Longitude, in degrees", "经度(度)"),
    ("communities", "households"): ("Number of households", "户数"),
    ("units", "unit_id"): ("The unit's id, unique", "单位的编号，不可重复"),
    ("units", "name"): ("The unit's name", "单位名称"),
    ("units", "kind"): ("What kind of unit", "单位类型"),
    ("units", "level"): ("The unit's level", "单位层级"),
    ("units", "district"): ("The district it is in", "所在区"),
    ("units", "lat"): ("Latitude, in degrees", "纬度(度)"),
    ("units", "lon"): ("Longitude, in degrees", "经度(度)"),
    ("units", "lead_capacity"): (
        "The effort the unit can lead (lead options)",
        "单位可牵头的工作量(对应牵头选项)",
    ),
    ("cadres", "cadre_id"): ("The cadre's id, unique", "干部的编号，不可重复"),
    ("cadres", "unit_id"): ("The unit the cadre works for", "干部所在单位的编号"),
    ("cadres", "skills"): (
        "What the cadre can help with: categories joined by ';'",
        "干部能提供的服务类别，多个用“、”或“；”分隔",
    ),
    ("cadres", "hours"): ("Hours the cadre can give, in hours", "可提供的时长，单位小时"),
    ("cadres", "home_community_id"): (
        "The community the cadre lives in (community id)",
        "干部居住的社区(社区编号)",
    ),
    ("cadres", "lat"): ("Latitude of the cadre's home, in degrees", "居住地纬度(度)"),
    ("cadres", "lon"): ("Longitude of the cadre's home, in degrees", "居住地经度(度)"),
    ("demands", "demand_id"): ("The demand's id, unique", "需求的编号，不可重复"),
    ("demands", "community_id"): ("The community that needs it", "提出需求的社区编号"),
    ("demands", "category"): ("What is needed (a category)", "需求类别"),
    ("demands", "hours"): ("Hours needed, in hours", "需要的时长，单位小时"),
    ("demands", "priority"): ("Priority, 1 (low) to 5 (urgent)", "优先级，1(低)到5(紧急)"),
    ("demands", "min_hours"): (
        "Fewer hours than this are of no use, in hours",
        "最少需要的时长，少于此数无意义，单位小时",
    ),
    ("demands", "funds"): ("Money needed, in yuan", "需要的经费，单位元"),
    ("demands", "description"): ("What the demand is about", "需求描述"),
    ("resources", "resource_id"): ("The resource's id, unique", "资源的编号，不可重复"),
    ("resources", "unit_id"): ("The unit giving it", "提供资源的单位编号"),
    ("resources", "kind"): ("Service hours or funds", "服务(时长)或经费"),
    ("resources", "categories"): (
        "The categories it may serve, joined by ';' (empty: any)",
        "可用于的类别，多个用“、”或“；”分隔(空表示不限)",
    ),
    ("resources", "amount"): (
        "How much: hours for a service, yuan for funds",
        "数量：服务为小时，经费为元",
    ),
    ("resources", "range_km"): ("How far it reaches, in km", "服务范围，单位公里"),
    ("pairings", "unit_id"): ("The paired unit", "结对单位编号"),
    ("pairings", "community_id"): ("The paired community", "结对社区编号"),
    ("alliances", "alliance_id"): ("The alliance's id, unique", "联盟的编号，不可重复"),
    ("alliances", "name"): ("The alliance's name", "联盟名称"),
    ("alliances", "district"): ("The district it is in", "所在区"),
    ("alliances", "street"): ("The street (sub-district) it serves", "所在街道"),
    ("alliance_members", "alliance_id"): ("The alliance", "联盟编号"),
    ("alliance_members", "unit_id"): ("A member unit", "成员单位编号"),
    ("lead_options", "demand_id"): ("The demand a unit may lead", "可牵头的需求编号"),
    ("lead_options", "unit_id"): ("The unit that may lead it", "可牵头的单位编号"),
    ("lead_options", "effort"): ("The effort leading it takes", "牵头所需的工作量"),
    ("lead_options", "cost"): ("The cost of this unit leading it", "由该单位牵头的成本"),
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


def column_note(table: str, column: str, lang: str) -> str:
    """What ``column`` of ``table`` holds, in ``lang`` (from :data:`NOTES`)."""
    en, zh = NOTES[(table, column)]
    return zh if lang == "zh" else en


def _check() -> None:
    """Every column of the spec has a Chinese name and both notes (a new column must
    get them)."""
    missing = [c.name for t in TABLES for c in t.columns if not COLUMNS.get(c.name)]
    if missing:
        raise RuntimeError(f"columns without a Chinese name in matcher.aliases: {missing}")
    no_note = [
        f"{t.name}.{c.name}"
        for t in TABLES
        for c in t.columns
        if not all(text.strip() for text in NOTES.get((t.name, c.name), ("", "")))
    ]
    if no_note:
        raise RuntimeError(f"columns without an English and a Chinese note: {no_note}")


_check()
