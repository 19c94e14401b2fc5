"""Build the bundled demo dataset ``datasets/fuzhou-demo/``.

The dataset is a small, realistic stand-in for the co-construction practice described in
the 2022 China City News article on near-neighbour party building in Fuzhou
(``shared/context/fuzhou-near-neighbor-party-building.txt``): communities in six districts
post their demand lists, municipal and district units are paired with communities by
"dual registration", neighbourhood red alliances of units and enterprises serve a street,
and cadres, enterprises and social organizations offer hours.  The cases the article
names (Military Gate community and its party-representative studio, the Dongjie elderly
canteen run with Jichunyuan Group, Cangxia New Town, Tangbian's home-care centre, the
Minfa West Lake Plaza property-fee dispute, Ao Meiyuan in Cangshan, Jin'an's "Living Room
of the City") are written in by hand; everything else is drawn from a fixed seed.

It exists so that ``make demo``, the tests and the benchmarks have a dataset big enough for
planning to matter: supply falls short of demand overall, badly so for some skills and in
the outlying districts (Mawei, Changle), while epidemic-prevention and patrol hours are
plentiful.  Coordinates and quantities are illustrative, not official data.

Run ``python datasets/build_fuzhou_demo.py`` from anywhere, with the Python that has the
``matcher`` package installed (``.venv/bin/python``: the category codes are
:data:`matcher.inputs.generate.CATEGORIES`); it rewrites the CSV files in
``datasets/fuzhou-demo/`` and is deterministic (``numpy.random.default_rng(2022)``), so two
runs give byte-identical files.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from matcher.inputs.generate import CATEGORIES  # the one list of category codes

SEED = 2022
OUT_DIR = Path(__file__).resolve().parent / "fuzhou-demo"

CATEGORY_ORDER = {c: i for i, c in enumerate(CATEGORIES)}

CORE_DISTRICTS = ("Gulou", "Taijiang", "Cangshan", "Jin'an")
OUTLYING_DISTRICTS = ("Mawei", "Changle")
DISTRICT_CODES = {
    "Gulou": "GL",
    "Taijiang": "TJ",
    "Cangshan": "CS",
    "Jin'an": "JA",
    "Mawei": "MW",
    "Changle": "CL",
}

# Rounded; not matcher.model.geo.KM_PER_DEG_LAT (111.195): the demo's coordinates were
# drawn with it.
KM_PER_DEG_LAT = 111.2


# --------------------------------------------------------------------------------------
# Geography
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Street:
    """A street (街道) or town (镇) with an approximate WGS84 centre."""

    district: str
    name: str
    zh: str
    lat: float
    lon: float
    n_communities: int


# Real street/town names of each district; centres are approximate (WGS84) and the
# community counts are far below the real ones, to keep the demo small.
STREETS: tuple[Street, ...] = (
    Street("Gulou", "Dongjie", "东街", 26.0878, 119.3045, 4),
    Street("Gulou", "Nanjie", "南街", 26.0835, 119.2975, 4),
    Street("Gulou", "Gudong", "鼓东", 26.0935, 119.3045, 4),
    Street("Gulou", "Guxi", "鼓西", 26.0880, 119.2905, 4),
    Street("Gulou", "Wufeng", "五凤", 26.0965, 119.2830, 4),
    Street("Taijiang", "Cangxia", "苍霞", 26.0545, 119.3065, 4),
    Street("Taijiang", "Yingzhou", "瀛洲", 26.0560, 119.3215, 4),
    Street("Taijiang", "Aofeng", "鳌峰", 26.0645, 119.3225, 4),
    Street("Taijiang", "Chating", "茶亭", 26.0700, 119.3025, 4),
    Street("Cangshan", "Cangqian", "仓前", 26.0455, 119.3155, 4),
    Street("Cangshan", "Duihu", "对湖", 26.0470, 119.3025, 4),
    Street("Cangshan", "Xiadu", "下渡", 26.0390, 119.3235, 4),
    Street("Cangshan", "Jinshan", "金山", 26.0470, 119.2720, 4),
    Street("Jin'an", "Chayuan", "茶园", 26.0835, 119.3290, 4),
    Street("Jin'an", "Wangzhuang", "王庄", 26.0790, 119.3400, 4),
    Street("Jin'an", "Xiangyuan", "象园", 26.0715, 119.3320, 3),
    Street("Jin'an", "Yuefeng", "岳峰", 26.0905, 119.3450, 3),
    Street("Mawei", "Luoxing", "罗星", 25.9935, 119.4460, 4),
    Street("Mawei", "Mawei Town", "马尾镇", 26.0100, 119.4250, 3),
    Street("Changle", "Wuhang", "吴航", 25.9625, 119.5235, 4),
    Street("Changle", "Hangcheng", "航城", 25.9460, 119.5340, 3),
    Street("Changle", "Yingqian", "营前", 26.0230, 119.4820, 3),
)
STREET_BY_NAME = {s.name: s for s in STREETS}

# Real community names used for filler communities where a public administrative-division
# listing confirms them; other filler communities get plain numbered placeholder names.
REAL_FILLER_NAMES: dict[str, tuple[tuple[str, str], ...]] = {
    "Gudong": (
        ("Zhongshan", "中山"),
        ("Qingcheng", "庆城"),
        ("Kaiyuan", "开元"),
        ("Shudou", "树兜"),
    ),
    "Guxi": (("West Lake", "西湖"),),
}


@dataclass(frozen=True)
class FixedDemand:
    """A demand written in by hand for a community the article names."""

    category: str
    hours: int
    priority: int
    description: str


@dataclass(frozen=True)
class NamedCommunity:
    """A community the article names, with its hand-written demands."""

    community_id: str
    name: str
    street: str
    lat: float
    lon: float
    households: int
    demands: tuple[FixedDemand, ...] = field(default=())


# The first three share ids, coordinates and sizes with the spec's worked example.
NAMED_COMMUNITIES: tuple[NamedCommunity, ...] = (
    NamedCommunity(
        "C-JUNMEN",
        "Military Gate Community (军门社区)",
        "Dongjie",
        26.0869,
        119.3008,
        2100,
        (
            FixedDemand(
                "parking",
                40,
                5,
                "Ease parking difficulties in the old lanes (raised at the Lin Dan Party "
                "Representative Studio)",
            ),
            FixedDemand(
                "elderly_care",
                36,
                5,
                "Help elderly residents of walk-up blocks who find it hard to get upstairs",
            ),
            FixedDemand("elderly_meals", 30, 4, "Staff the Dongjie elderly canteen at lunchtime"),
            FixedDemand(
                "housing_repair", 24, 3, "Survey walk-up blocks for lift retrofits and handrails"
            ),
            FixedDemand(
                "digital_help", 8, 2, "Teach seniors to use health codes and online services"
            ),
        ),
    ),
    NamedCommunity(
        "C-CANGXIA",
        "Cangxia New Town (苍霞新城)",
        "Cangxia",
        26.0537,
        119.3058,
        3200,
        (
            FixedDemand(
                "housing_repair",
                70,
                5,
                "Follow-up repairs to the renovated Cangxia New Town blocks",
            ),
            FixedDemand(
                "property_mediation", 40, 4, "Mediate property-fee collection after the renovation"
            ),
            FixedDemand("parking", 30, 3, "Allocate the parking spaces freed up by the renovation"),
            FixedDemand("elderly_care", 44, 4, "Visit elderly residents who live alone"),
        ),
    ),
    NamedCommunity(
        "C-TANGBIAN",
        "Tangbian Community (塘边社区)",
        "Wufeng",
        26.0905,
        119.2805,
        2600,
        (
            FixedDemand(
                "elderly_care", 60, 5, "Home-care visits run from the five-star home-care centre"
            ),
            FixedDemand("elderly_meals", 28, 4, "Deliver meals to housebound elderly residents"),
            FixedDemand(
                "health_services", 30, 4, "Chronic-disease check-ups at the home-care centre"
            ),
            FixedDemand("cultural_activities", 12, 2, "Run daytime activities for seniors"),
        ),
    ),
    NamedCommunity(
        "C-MINFA",
        "Minfa West Lake Plaza Community (闽发西湖广场社区)",
        "Guxi",
        26.0912,
        119.2938,
        1600,
        (
            FixedDemand(
                "property_mediation",
                36,
                5,
                "Mediate property-fee disputes between owners and the property company",
            ),
            FixedDemand(
                "legal_aid", 20, 4, "Legal advice for the owners' committee on property-fee arrears"
            ),
            FixedDemand("parking", 16, 3, "Sort out chaotic parking in the plaza courtyard"),
            FixedDemand(
                "cultural_activities", 10, 1, "Neighbourhood events paid for by the fee 'dividend'"
            ),
        ),
    ),
    NamedCommunity(
        # The article gives only the romanization; the Chinese name is not confirmed, so the
        # name stays English and the street is an assumption.
        "C-AOMEIYUAN",
        "Ao Meiyuan Community",
        "Cangqian",
        26.0468,
        119.3182,
        1900,
        (
            FixedDemand("elderly_care", 30, 4, "Support elderly couples who live on their own"),
            FixedDemand(
                "cultural_activities", 12, 2, "Back the seniors' volunteer and good-deeds group"
            ),
        ),
    ),
)


@dataclass(frozen=True)
class Community:
    """One row of communities.csv."""

    community_id: str
    name: str
    district: str
    street: str
    lat: float
    lon: float
    households: int


def offset_point(lat: float, lon: float, km: float, bearing: float) -> tuple[float, float]:
    """Move ``km`` kilometres from (lat, lon) along ``bearing`` (radians); flat-earth is fine
    at these distances."""
    dlat = km * math.cos(bearing) / KM_PER_DEG_LAT
    dlon = km * math.sin(bearing) / (KM_PER_DEG_LAT * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


def build_communities(rng: np.random.Generator) -> list[Community]:
    """Named communities first, then numbered fillers scattered around each street centre."""
    named_by_street: dict[str, list[NamedCommunity]] = {}
    for nc in NAMED_COMMUNITIES:
        named_by_street.setdefault(nc.street, []).append(nc)

    communities: list[Community] = []
    counters = dict.fromkeys(DISTRICT_CODES, 0)
    for street in STREETS:
        named = named_by_street.get(street.name, [])
        for nc in named:
            communities.append(
                Community(
                    nc.community_id,
                    nc.name,
                    street.district,
                    street.name,
                    nc.lat,
                    nc.lon,
                    nc.households,
                )
            )
        real_names = list(REAL_FILLER_NAMES.get(street.name, ()))
        n_placeholders = 0
        for _ in range(street.n_communities - len(named)):
            counters[street.district] += 1
            cid = f"C-{DISTRICT_CODES[street.district]}-{counters[street.district]:02d}"
            if real_names:
                en, zh = real_names.pop(0)
                name = f"{en} Community ({zh}社区)"
            else:
                n_placeholders += 1
                k = n_placeholders
                name = f"{street.name} Community {k} ({street.zh}第{k}社区)"
            # A few hundred metres from the street centre, as communities of one street are.
            km = float(rng.uniform(0.15, 0.75))
            bearing = float(rng.uniform(0.0, 2.0 * math.pi))
            lat, lon = offset_point(street.lat, street.lon, km, bearing)
            # Old-town communities are smaller; outlying new estates a little larger.
            households = int(np.clip(round(float(rng.lognormal(math.log(2300), 0.45))), 800, 6000))
            communities.append(
                Community(cid, name, street.district, street.name, lat, lon, households)
            )
    return communities


# --------------------------------------------------------------------------------------
# Units, resources, pairings, alliances
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    """One row of units.csv plus what the generator needs to make its cadres."""

    unit_id: str
    name: str
    kind: str
    level: str
    district: str
    lat: float
    lon: float
    skills: tuple[str, ...]
    n_cadres: int


def _u(
    unit_id: str,
    name: str,
    kind: str,
    level: str,
    district: str,
    lat: float,
    lon: float,
    skills: str,
    n_cadres: int,
) -> Unit:
    return Unit(unit_id, name, kind, level, district, lat, lon, tuple(skills.split(";")), n_cadres)


G, E, S, INST = "government", "enterprise", "social_org", "institution"

# Skills are the unit's line of work; the cadre generator adds generic skills on top.
# Cadre counts make legal aid, disability support and housing repair scarce on purpose.
UNITS: tuple[Unit, ...] = (
    # Municipal government units (dual registration with communities), mostly in Gulou.
    _u("U-MORG", "CPC Fuzhou Municipal Committee Organization Department (中共福州市委组织部)",
       G, "municipal", "Gulou", 26.0800, 119.2960, "cultural_activities;digital_help", 30),
    _u("U-MCA", "Fuzhou Municipal Bureau of Civil Affairs (福州市民政局)",
       G, "municipal", "Gulou", 26.0835, 119.2990,
       "elderly_care;elderly_meals;disability_support", 55),
    _u("U-MJB", "Fuzhou Municipal Bureau of Justice (福州市司法局)",
       G, "municipal", "Gulou", 26.0790, 119.3010, "legal_aid;property_mediation", 22),
    _u("U-MHC", "Fuzhou Municipal Health Commission (福州市卫生健康委员会)",
       G, "municipal", "Gulou", 26.0815, 119.2935, "health_services;epidemic_prevention", 50),
    _u("U-MHUD",
       "Fuzhou Municipal Housing and Urban-Rural Development Bureau (福州市住房和城乡建设局)",
       G, "municipal", "Gulou", 26.0860, 119.2920, "housing_repair;property_mediation", 28),
    _u("U-MHRSS",
       "Fuzhou Municipal Human Resources and Social Security Bureau "
       "(福州市人力资源和社会保障局)",
       G, "municipal", "Gulou", 26.0845, 119.3060, "employment", 30),
    _u("U-MPS", "Fuzhou Municipal Public Security Bureau (福州市公安局)",
       G, "municipal", "Gulou", 26.0868, 119.2985, "safety_patrol", 45),
    _u("U-MTP",
       "Fuzhou Public Security Bureau Traffic Police Detachment (福州市公安局交通警察支队)",
       G, "municipal", "Jin'an", 26.0880, 119.3200, "parking;safety_patrol", 40),
    _u("U-MEE", "Fuzhou Municipal Ecology and Environment Bureau (福州市生态环境局)",
       G, "municipal", "Gulou", 26.0950, 119.2900, "environment", 25),
    _u("U-MUM", "Fuzhou Municipal Urban Management Commission (福州市城市管理委员会)",
       G, "municipal", "Taijiang", 26.0650, 119.3100, "environment;parking", 35),
    _u("U-MSA", "Fuzhou Municipal Administration for Market Regulation (福州市市场监督管理局)",
       G, "municipal", "Gulou", 26.0930, 119.3020, "elderly_meals;epidemic_prevention", 30),
    _u("U-MEDU", "Fuzhou Municipal Education Bureau (福州市教育局)",
       G, "municipal", "Gulou", 26.0880, 119.2950, "child_care;cultural_activities", 35),
    _u("U-MCT", "Fuzhou Municipal Bureau of Culture and Tourism (福州市文化和旅游局)",
       G, "municipal", "Gulou", 26.0855, 119.2945, "cultural_activities", 20),
    _u("U-MIIT",
       "Fuzhou Municipal Bureau of Industry and Information Technology (福州市工业和信息化局)",
       G, "municipal", "Gulou", 26.0825, 119.2955, "digital_help", 25),
    _u("U-MDPF", "Fuzhou Disabled Persons' Federation (福州市残疾人联合会)",
       G, "municipal", "Gulou", 26.0905, 119.3000, "disability_support", 8),
    _u("U-MWF", "Fuzhou Women's Federation (福州市妇女联合会)",
       G, "municipal", "Gulou", 26.0810, 119.2975, "child_care", 15),
    _u("U-MCYL", "Communist Youth League Fuzhou Municipal Committee (共青团福州市委)",
       G, "municipal", "Gulou", 26.0805, 119.2950, "digital_help;cultural_activities", 20),
    _u("U-MFIN", "Fuzhou Municipal Finance Bureau (福州市财政局)",
       G, "municipal", "Gulou", 26.0795, 119.2940, "digital_help", 25),
    # District units.
    _u("U-GL-CA", "Gulou District Civil Affairs Bureau (鼓楼区民政局)",
       G, "district", "Gulou", 26.0885, 119.3095,
       "elderly_care;elderly_meals;disability_support", 25),
    _u("U-GL-JB", "Gulou District Justice Bureau (鼓楼区司法局)",
       G, "district", "Gulou", 26.0880, 119.3105, "legal_aid;property_mediation", 12),
    _u("U-GL-HC", "Gulou District Health Bureau (鼓楼区卫生健康局)",
       G, "district", "Gulou", 26.0890, 119.3110, "health_services;epidemic_prevention", 20),
    _u("U-GL-UM", "Gulou District Urban Management Bureau (鼓楼区城市管理局)",
       G, "district", "Gulou", 26.0920, 119.3080, "parking;environment", 20),
    _u("U-TJ-CA", "Taijiang District Civil Affairs Bureau (台江区民政局)",
       G, "district", "Taijiang", 26.0590, 119.3120,
       "elderly_care;elderly_meals;disability_support", 20),
    _u("U-TJ-HB", "Taijiang District Housing and Construction Bureau (台江区住房和建设局)",
       G, "district", "Taijiang", 26.0600, 119.3140, "housing_repair;property_mediation", 12),
    _u("U-TJ-HC", "Taijiang District Health Bureau (台江区卫生健康局)",
       G, "district", "Taijiang", 26.0610, 119.3110, "health_services;epidemic_prevention", 15),
    _u("U-CS-CA", "Cangshan District Civil Affairs Bureau (仓山区民政局)",
       G, "district", "Cangshan", 26.0440, 119.3110, "elderly_care;elderly_meals", 20),
    _u("U-CS-HC", "Cangshan District Health Bureau (仓山区卫生健康局)",
       G, "district", "Cangshan", 26.0430, 119.3090, "health_services;epidemic_prevention", 15),
    _u("U-CS-UM", "Cangshan District Urban Management Bureau (仓山区城市管理局)",
       G, "district", "Cangshan", 26.0420, 119.3130, "parking;environment", 15),
    _u("U-JA-CA", "Jin'an District Civil Affairs Bureau (晋安区民政局)",
       G, "district", "Jin'an", 26.0820, 119.3330, "elderly_care;elderly_meals", 20),
    _u("U-JA-KETING", "Jin'an District 'Living Room of the City' Platform (晋安区“城市客厅”平台)",
       G, "district", "Jin'an", 26.0810, 119.3360,
       "cultural_activities;employment;environment", 20),
    _u("U-JA-HRSS", "Jin'an District Human Resources and Social Security Bureau (晋安区人社局)",
       G, "district", "Jin'an", 26.0830, 119.3345, "employment", 12),
    _u("U-MW-CA", "Mawei District Civil Affairs Bureau (马尾区民政局)",
       G, "district", "Mawei", 25.9945, 119.4490, "elderly_care;elderly_meals", 9),
    _u("U-MW-HC", "Mawei District Health Bureau (马尾区卫生健康局)",
       G, "district", "Mawei", 25.9955, 119.4475, "health_services;epidemic_prevention", 8),
    _u("U-CL-CA", "Changle District Civil Affairs Bureau (长乐区民政局)",
       G, "district", "Changle", 25.9640, 119.5220, "elderly_care;elderly_meals", 12),
    _u("U-CL-JB", "Changle District Justice Bureau (长乐区司法局)",
       G, "district", "Changle", 25.9630, 119.5250, "legal_aid;property_mediation", 6),
    _u("U-CL-HC", "Changle District Health Bureau (长乐区卫生健康局)",
       G, "district", "Changle", 25.9610, 119.5210, "health_services;epidemic_prevention", 10),
    # Street offices.
    _u("U-ST-DONGJIE", "Dongjie Street Office (东街街道办事处)",
       G, "street", "Gulou", 26.0882, 119.3050, "elderly_care;parking;safety_patrol", 10),
    _u("U-ST-WUFENG", "Wufeng Street Office (五凤街道办事处)",
       G, "street", "Gulou", 26.0960, 119.2840, "elderly_care;environment", 8),
    _u("U-ST-CANGXIA", "Cangxia Street Office (苍霞街道办事处)",
       G, "street", "Taijiang", 26.0548, 119.3070, "property_mediation;parking", 10),
    _u("U-ST-CANGQIAN", "Cangqian Street Office (仓前街道办事处)",
       G, "street", "Cangshan", 26.0458, 119.3150, "elderly_care;environment", 8),
    _u("U-ST-WANGZHUANG", "Wangzhuang Street Office (王庄街道办事处)",
       G, "street", "Jin'an", 26.0792, 119.3395, "employment;child_care", 8),
    _u("U-ST-LUOXING", "Luoxing Street Office (罗星街道办事处)",
       G, "street", "Mawei", 25.9938, 119.4455, "elderly_care;safety_patrol", 8),
    _u("U-ST-WUHANG", "Wuhang Street Office (吴航街道办事处)",
       G, "street", "Changle", 25.9628, 119.5240, "elderly_care;environment", 8),
    # Enterprises.
    _u("U-JCY", "Jichunyuan Group (聚春园集团)",
       E, "none", "Gulou", 26.0875, 119.3040, "elderly_meals;elderly_care", 12),
    _u("U-SGFZ", "State Grid Fuzhou Power Supply Company (国网福州供电公司)",
       E, "none", "Gulou", 26.0850, 119.3100, "housing_repair;safety_patrol", 15),
    _u("U-FZMETRO", "Fuzhou Metro Group (福州地铁集团)",
       E, "none", "Jin'an", 26.0830, 119.3350, "safety_patrol;employment", 12),
    _u("U-FZWATER", "Fuzhou Water Group (福州水务集团)",
       E, "none", "Taijiang", 26.0660, 119.3150, "housing_repair;environment", 10),
    _u("U-IB", "Industrial Bank Fuzhou Branch (兴业银行福州分行)",
       E, "none", "Taijiang", 26.0610, 119.3180, "digital_help;legal_aid", 10),
    _u("U-CMCC", "China Mobile Fuzhou Branch (中国移动福州分公司)",
       E, "none", "Gulou", 26.0830, 119.3070, "digital_help", 10),
    _u("U-YONGHUI", "Yonghui Superstores (永辉超市)",
       E, "none", "Taijiang", 26.0620, 119.3250, "elderly_meals;epidemic_prevention", 10),
    _u("U-FZCI", "Fuzhou Urban Construction Investment Group (福州城市建设投资集团)",
       E, "none", "Taijiang", 26.0580, 119.3150, "housing_repair", 8),
    _u("U-PROP", "Gulou community property services company (鼓楼区社区物业服务企业)",
       E, "none", "Gulou", 26.0930, 119.2860, "housing_repair;property_mediation", 8),
    _u("U-LAW", "Gulou law firms' pro-bono team (鼓楼区律师事务所公益法律服务团)",
       E, "none", "Gulou", 26.0820, 119.3000, "legal_aid;property_mediation", 6),
    _u("U-MWSHIP", "Fujian Mawei Shipbuilding (福建省马尾造船股份有限公司)",
       E, "none", "Mawei", 25.9900, 119.4400, "safety_patrol;employment", 8),
    _u("U-AIRPORT", "Fuzhou Changle International Airport (福州长乐国际机场)",
       E, "none", "Changle", 25.9350, 119.6630, "employment;safety_patrol", 10),
    # Institutions.
    _u("U-FPH", "Fujian Provincial Hospital (福建省立医院)",
       INST, "none", "Gulou", 26.0890, 119.2970, "health_services", 12),
    _u("U-FMUH",
       "First Affiliated Hospital of Fujian Medical University (福建医科大学附属第一医院)",
       INST, "none", "Taijiang", 26.0640, 119.3080, "health_services", 10),
    _u("U-FNU", "Fujian Normal University Cangshan Campus (福建师范大学仓山校区)",
       INST, "none", "Cangshan", 26.0390, 119.3010,
       "child_care;cultural_activities;digital_help", 15),
    _u("U-MW-HOSP", "Mawei District Hospital (马尾区医院)",
       INST, "none", "Mawei", 25.9960, 119.4480, "health_services", 6),
    # Social organizations.
    _u("U-VOL", "Fuzhou Volunteers Association (福州市志愿者协会)",
       S, "none", "Gulou", 26.0850, 119.2990, "epidemic_prevention;safety_patrol;environment", 20),
    _u("U-TBHC", "Tangbian Home-Care Service Centre (塘边社区居家养老服务中心)",
       S, "none", "Gulou", 26.0908, 119.2810, "elderly_care", 6),
    _u("U-TJ-SWC", "Taijiang Social Work Service Centre (台江区社会工作服务中心)",
       S, "none", "Taijiang", 26.0600, 119.3120, "elderly_care;disability_support;child_care", 8),
)  # fmt: skip
UNIT_BY_ID = {u.unit_id: u for u in UNITS}


@dataclass(frozen=True)
class Resource:
    """One row of resources.csv (service hours only; funds come later)."""

    resource_id: str
    unit_id: str
    categories: str
    amount: int
    range_km: float | None


RESOURCES: tuple[Resource, ...] = (
    # The Dongjie elderly canteen the street opened with alliance member Jichunyuan.
    Resource("R-JCY-CANTEEN", "U-JCY", "elderly_care;elderly_meals", 120, 3.0),
    Resource("R-TBHC-HOMECARE", "U-TBHC", "elderly_care", 80, 2.0),
    Resource("R-FPH-CLINIC", "U-FPH", "health_services", 100, 5.0),
    Resource("R-FMUH-CLINIC", "U-FMUH", "health_services", 80, 4.0),
    Resource("R-LAW-PROBONO", "U-LAW", "legal_aid;property_mediation", 50, 6.0),
    Resource("R-PROP-REPAIR", "U-PROP", "housing_repair", 60, 3.0),
    Resource("R-SGFZ-WIRING", "U-SGFZ", "housing_repair", 40, 8.0),
    Resource("R-FZWATER-PIPES", "U-FZWATER", "housing_repair;environment", 50, None),
    Resource("R-FZCI-RENOVATION", "U-FZCI", "housing_repair", 60, None),
    Resource("R-CMCC-DIGITAL", "U-CMCC", "digital_help", 60, 8.0),
    Resource("R-IB-ANTIFRAUD", "U-IB", "digital_help", 30, 4.0),
    Resource("R-VOL-SURGE", "U-VOL", "epidemic_prevention;safety_patrol", 200, None),
    Resource("R-TJSWC-CASEWORK", "U-TJ-SWC", "elderly_care;disability_support", 40, 4.0),
    Resource("R-FNU-VOLUNTEERS", "U-FNU", "child_care;cultural_activities", 80, 6.0),
    Resource("R-YONGHUI-MEALS", "U-YONGHUI", "elderly_meals", 40, 5.0),
    Resource("R-MWSHIP-PATROL", "U-MWSHIP", "safety_patrol;employment", 40, 5.0),
    Resource("R-MWHOSP-CLINIC", "U-MW-HOSP", "health_services", 40, 6.0),
    Resource("R-AIRPORT-JOBS", "U-AIRPORT", "employment", 30, None),
)

# Dual registration the article implies for its named cases; the rest are drawn.
FIXED_PAIRINGS: tuple[tuple[str, str], ...] = (
    ("U-MCA", "C-JUNMEN"),
    ("U-MJB", "C-MINFA"),
    ("U-MHUD", "C-CANGXIA"),
    ("U-MCA", "C-TANGBIAN"),
    ("U-GL-CA", "C-JUNMEN"),
    ("U-TJ-HB", "C-CANGXIA"),
)

# Neighbourhood red alliances: streets that have one and their member units.  Guxi,
# Yingzhou, Jinshan, Mawei Town, Hangcheng and Yingqian have none.
ALLIANCES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("A-DONGJIE", "Dongjie", ("U-ST-DONGJIE", "U-JCY", "U-GL-CA", "U-SGFZ", "U-VOL")),
    ("A-NANJIE", "Nanjie", ("U-GL-UM", "U-CMCC", "U-LAW")),
    ("A-GUDONG", "Gudong", ("U-GL-HC", "U-FPH", "U-CMCC")),
    ("A-WUFENG", "Wufeng", ("U-ST-WUFENG", "U-TBHC", "U-GL-CA", "U-PROP")),
    ("A-CANGXIA", "Cangxia", ("U-ST-CANGXIA", "U-TJ-HB", "U-PROP", "U-FZCI", "U-TJ-SWC")),
    ("A-AOFENG", "Aofeng", ("U-TJ-CA", "U-IB", "U-YONGHUI")),
    ("A-CHATING", "Chating", ("U-TJ-HC", "U-FMUH", "U-FZWATER")),
    ("A-CANGQIAN", "Cangqian", ("U-ST-CANGQIAN", "U-CS-CA", "U-FNU")),
    ("A-DUIHU", "Duihu", ("U-CS-HC", "U-FNU", "U-VOL")),
    ("A-XIADU", "Xiadu", ("U-CS-UM", "U-SGFZ")),
    ("A-CHAYUAN", "Chayuan", ("U-JA-KETING", "U-JA-CA", "U-FZMETRO")),
    ("A-WANGZHUANG", "Wangzhuang", ("U-ST-WANGZHUANG", "U-JA-KETING", "U-JA-HRSS", "U-YONGHUI")),
    ("A-XIANGYUAN", "Xiangyuan", ("U-JA-KETING", "U-JA-CA", "U-FZWATER")),
    ("A-YUEFENG", "Yuefeng", ("U-JA-KETING", "U-FZMETRO")),
    ("A-LUOXING", "Luoxing", ("U-ST-LUOXING", "U-MW-CA", "U-MWSHIP", "U-MW-HOSP")),
    ("A-WUHANG", "Wuhang", ("U-ST-WUHANG", "U-CL-CA", "U-AIRPORT")),
)


def draw_pairings(
    rng: np.random.Generator, communities: Sequence[Community]
) -> list[tuple[str, str]]:
    """Dual registration: each municipal unit with 2-3 communities anywhere (the article's
    90 units with 201 communities), each district unit with 2-3 of its own district's."""
    pairs = list(FIXED_PAIRINGS)
    households = np.array([c.households for c in communities], dtype=float)
    # Municipal units lean towards the central districts, as in practice.
    reach = np.array([1.0 if c.district in CORE_DISTRICTS else 0.5 for c in communities])
    for unit in UNITS:
        if unit.level not in ("municipal", "district"):
            continue
        if unit.level == "municipal":
            weights = households * reach
        else:
            weights = households * np.array([c.district == unit.district for c in communities])
        mine = {cid for uid, cid in pairs if uid == unit.unit_id}
        want = int(rng.integers(2, 4)) - len(mine)
        if want <= 0:
            continue
        p = np.where([c.community_id in mine for c in communities], 0.0, weights)
        chosen = rng.choice(len(communities), size=want, replace=False, p=p / p.sum())
        pairs.extend((unit.unit_id, communities[int(i)].community_id) for i in sorted(chosen))
    return sorted(pairs)


# --------------------------------------------------------------------------------------
# Cadres
# --------------------------------------------------------------------------------------

# Generic skills almost any cadre can offer (the 2020-22 epidemic sent 79,000 cadres down
# to communities), which is why these categories end up oversupplied.
GENERIC_SKILLS: tuple[tuple[str, float], ...] = (
    ("epidemic_prevention", 0.45),
    ("safety_patrol", 0.35),
    ("digital_help", 0.12),
)
OWN_SKILL_WEIGHTS = (1.0, 0.6, 0.25)
# Fewer cadres live in the outlying districts than their share of communities.
HOME_DISTRICT_WEIGHT = {"Mawei": 0.3, "Changle": 0.25}


@dataclass(frozen=True)
class Cadre:
    """One row of cadres.csv."""

    cadre_id: str
    unit_id: str
    skills: tuple[str, ...]
    hours: int
    home_community_id: str
    lat: float | None
    lon: float | None


def draw_hours(rng: np.random.Generator) -> int:
    """Hours per period: most 8-16, some short spells, a few near full-time secondments."""
    r = float(rng.random())
    if r < 0.08:
        return int(rng.integers(4, 8))
    if r < 0.90:
        return int(rng.integers(8, 17))
    return int(rng.integers(17, 41))


def draw_skills(rng: np.random.Generator, unit: Unit) -> tuple[str, ...]:
    """One or two of the unit's own skills, then generic ones, at most three in all.

    A unit's skills are listed main line of work first; later ones are side lines that
    fewer of its cadres take up (which keeps disability support scarce)."""
    n_own = 1 if len(unit.skills) == 1 or rng.random() < 0.6 else 2
    w = np.array(OWN_SKILL_WEIGHTS[: len(unit.skills)])
    own = [str(s) for s in rng.choice(unit.skills, size=n_own, replace=False, p=w / w.sum())]
    skills = list(own)
    for skill, p in GENERIC_SKILLS:
        if rng.random() < p and skill not in skills and len(skills) < 3:
            skills.append(skill)
    return tuple(sorted(skills, key=CATEGORY_ORDER.__getitem__))


def build_cadres(rng: np.random.Generator, communities: Sequence[Community]) -> list[Cadre]:
    """Cadres per unit; about 60% registered where they live, about 5% stationed away."""
    ids = [c.community_id for c in communities]
    households = np.array([c.households for c in communities], dtype=float)
    district_w = np.array([HOME_DISTRICT_WEIGHT.get(c.district, 1.0) for c in communities])
    city_p = households * district_w
    city_p /= city_p.sum()
    cadres: list[Cadre] = []
    for unit in UNITS:
        # Staff of district-level and local units mostly live in the same district.
        local = np.array([c.district == unit.district for c in communities], dtype=float)
        local_p = households * local
        local_p /= local_p.sum()
        local_share = 0.15 if unit.level == "municipal" else 0.75
        for _ in range(unit.n_cadres):
            skills = draw_skills(rng, unit)
            hours = draw_hours(rng)
            home = ""
            if rng.random() < 0.6:
                p = local_p if rng.random() < local_share else city_p
                home = ids[int(rng.choice(len(ids), p=p))]
            lat: float | None = None
            lon: float | None = None
            if rng.random() < 0.05:
                # Stationed at a post near some community other than home.
                anchor = communities[int(rng.integers(len(communities)))]
                lat, lon = offset_point(
                    anchor.lat,
                    anchor.lon,
                    float(rng.uniform(0.3, 1.5)),
                    float(rng.uniform(0.0, 2.0 * math.pi)),
                )
            cid = f"K{len(cadres) + 1:04d}"
            cadres.append(Cadre(cid, unit.unit_id, skills, hours, home, lat, lon))
    return cadres


# --------------------------------------------------------------------------------------
# Demands
# --------------------------------------------------------------------------------------

# (base hours for a 2,500-household community, base priority, how often it is listed)
CATEGORY_PROFILE: dict[str, tuple[float, int, float]] = {
    "elderly_care": (55.2, 4, 1.3),
    "elderly_meals": (41.4, 4, 0.7),
    "legal_aid": (34.5, 3, 0.8),
    "parking": (39.1, 3, 0.8),
    "property_mediation": (34.5, 3, 0.8),
    "epidemic_prevention": (48.3, 4, 1.0),
    "digital_help": (23.0, 2, 0.7),
    "child_care": (34.5, 3, 0.6),
    "health_services": (39.1, 4, 0.9),
    "environment": (32.2, 2, 0.6),
    "safety_patrol": (34.5, 2, 0.7),
    "housing_repair": (50.6, 3, 0.7),
    "employment": (29.9, 3, 0.5),
    "disability_support": (32.2, 4, 0.7),
    "cultural_activities": (20.7, 1, 0.5),
}
# Old town centres list more elderly, parking and repair needs; newer and outlying areas
# more jobs and childcare.
DISTRICT_TILT: dict[str, dict[str, float]] = {
    "Gulou": {"elderly_care": 1.3, "elderly_meals": 1.4, "parking": 1.5, "housing_repair": 1.3},
    "Taijiang": {"housing_repair": 1.5, "property_mediation": 1.5, "parking": 1.3},
    "Cangshan": {"child_care": 1.4, "property_mediation": 1.2},
    "Jin'an": {"employment": 1.6, "environment": 1.5, "child_care": 1.3},
    "Mawei": {"employment": 1.8, "safety_patrol": 1.4, "disability_support": 1.3},
    "Changle": {"employment": 1.8, "legal_aid": 1.4, "disability_support": 1.4},
}

DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "elderly_care": (
        "Visit elderly residents who live alone",
        "Weekly check-in calls and visits to empty-nest seniors",
        "Accompany frail seniors to hospital appointments",
    ),
    "elderly_meals": (
        "Serve lunch at the community elderly canteen",
        "Deliver meals to housebound seniors",
        "Run the weekday meal-assistance point for seniors",
    ),
    "legal_aid": (
        "Hold a monthly free legal-advice session",
        "Legal advice on inheritance and family disputes",
        "Help residents recover unpaid wages",
    ),
    "parking": (
        "Mediate chaotic parking in residential lanes",
        "Marshal parking around the school gate at rush hour",
        "Plan and mark shared parking spaces in old estates",
    ),
    "property_mediation": (
        "Mediate property-fee disputes",
        "Help set up the owners' committee and mediate with the property company",
        "Mediate disputes over shared-area maintenance fees",
    ),
    "epidemic_prevention": (
        "Staff nucleic-acid testing points",
        "Door-to-door epidemic screening and vaccination drive",
        "Staff the estate gate checkpoints during lockdowns",
    ),
    "digital_help": (
        "Teach seniors to use health codes and online services",
        "Help residents with online social-security and medical-insurance services",
        "Warn seniors about telecom fraud",
    ),
    "child_care": (
        "Run an after-school homework club",
        "Summer day camp for children of working parents",
        "Story hour and reading room for preschoolers",
    ),
    "health_services": (
        "Free health check-ups and blood-pressure screening",
        "Family-doctor sign-up and chronic-disease follow-up",
        "Health talks for seniors",
    ),
    "environment": (
        "Organize garbage sorting at collection points",
        "Clean up backstreets and clear illegal dumping",
        "Tidy up green spaces and remove clutter from stairwells",
    ),
    "safety_patrol": (
        "Evening safety patrols around the estate",
        "Fire-safety checks of e-bike charging and stairwells",
        "Patrol back lanes and pocket parks at night",
    ),
    "housing_repair": (
        "Repair leaking roofs and drains in old blocks",
        "Replace aging wiring in walk-up blocks",
        "Support the old-estate renovation works",
    ),
    "employment": (
        "Run a job fair and job-matching service",
        "Skills training for unemployed residents",
        "Help laid-off workers with re-employment paperwork",
    ),
    "disability_support": (
        "Home visits and rehabilitation support for disabled residents",
        "Accessibility repairs for disabled residents' homes",
        "Respite care for families of disabled residents",
    ),
    "cultural_activities": (
        "Organize neighbourhood festival events",
        "Run the community reading room and calligraphy class",
        "Organize Min opera and square-dance evenings",
    ),
}
DONGJIE_MEALS = (
    "Staff the Dongjie elderly canteen at lunchtime",
    "Deliver Dongjie elderly canteen meals to housebound seniors",
)
KETING_PREFIX = "Living Room of the City list: "


@dataclass(frozen=True)
class Demand:
    """One row of demands.csv."""

    demand_id: str
    community_id: str
    category: str
    hours: int
    priority: int
    description: str


def build_demands(rng: np.random.Generator, communities: Sequence[Community]) -> list[Demand]:
    """3-8 demands per community, at most one per category, hours scaled by households."""
    fixed = {nc.community_id: nc.demands for nc in NAMED_COMMUNITIES}
    cats = np.array(CATEGORIES)
    demands: list[Demand] = []
    for c in communities:
        rows: list[tuple[str, int, int, str]] = [
            (d.category, d.hours, d.priority, d.description) for d in fixed.get(c.community_id, ())
        ]
        # Larger communities bring longer lists.
        n_target = int(np.clip(round(3 + 3.2 * c.households / 3000 + rng.normal(0, 1)), 3, 8))
        n_target = max(n_target, len(rows))
        tilt = DISTRICT_TILT[c.district]
        w = np.array([CATEGORY_PROFILE[k][2] * tilt.get(k, 1.0) for k in CATEGORIES])
        if c.street == "Dongjie":
            # Residents asked for meals for the elderly; the canteen is the street's answer.
            w[CATEGORY_ORDER["elderly_meals"]] *= 50.0
        for k, _, _, _ in rows:
            w[CATEGORY_ORDER[k]] = 0.0
        extra = n_target - len(rows)
        if extra > 0:
            picks = rng.choice(len(cats), size=extra, replace=False, p=w / w.sum())
            for i in picks:
                cat = str(cats[int(i)])
                base, prio, _ = CATEGORY_PROFILE[cat]
                scale = (c.households / 2500.0) ** 0.7 * float(rng.lognormal(0.0, 0.3))
                hours = int(np.clip(round(base * scale), 4, 120))
                priority = int(np.clip(prio + int(rng.integers(-1, 2)), 1, 5))
                options = (
                    DONGJIE_MEALS
                    if (c.street == "Dongjie" and cat == "elderly_meals")
                    else DESCRIPTIONS[cat]
                )
                desc = options[int(rng.integers(len(options)))]
                if c.district == "Jin'an" and rng.random() < 0.5:
                    # Jin'an turns residents' issues into a quarterly project list.
                    desc = KETING_PREFIX + desc[0].lower() + desc[1:]
                rows.append((cat, hours, priority, desc))
        rows.sort(key=lambda r: CATEGORY_ORDER[r[0]])
        for cat, hours, priority, desc in rows:
            did = f"D{len(demands) + 1:04d}"
            demands.append(Demand(did, c.community_id, cat, hours, priority, desc))
    return demands


# --------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------


def fmt_coord(x: float | None) -> str:
    """Four decimals (about 10 m) is plenty and keeps the files stable across platforms."""
    return "" if x is None else f"{x:.4f}"


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Plain UTF-8 without BOM and with \\n line ends, so reruns are byte-identical."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def main() -> None:
    """Generate every table in a fixed order from one generator and write them out."""
    rng = np.random.default_rng(SEED)
    communities = build_communities(rng)
    pairings = draw_pairings(rng, communities)
    cadres = build_cadres(rng, communities)
    demands = build_demands(rng, communities)

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    write_csv(
        OUT_DIR / "communities.csv",
        ("community_id", "name", "district", "street", "lat", "lon", "households"),
        [
            (c.community_id, c.name, c.district, c.street, fmt_coord(c.lat), fmt_coord(c.lon),
             c.households)
            for c in communities
        ],
    )  # fmt: skip
    write_csv(
        OUT_DIR / "units.csv",
        ("unit_id", "name", "kind", "level", "district", "lat", "lon"),
        [
            (u.unit_id, u.name, u.kind, u.level, u.district, fmt_coord(u.lat), fmt_coord(u.lon))
            for u in UNITS
        ],
    )
    write_csv(
        OUT_DIR / "cadres.csv",
        ("cadre_id", "unit_id", "skills", "hours", "home_community_id", "lat", "lon"),
        [
            (k.cadre_id, k.unit_id, ";".join(k.skills), k.hours, k.home_community_id,
             fmt_coord(k.lat), fmt_coord(k.lon))
            for k in cadres
        ],
    )  # fmt: skip
    write_csv(
        OUT_DIR / "demands.csv",
        ("demand_id", "community_id", "category", "hours", "priority", "description"),
        [(d.demand_id, d.community_id, d.category, d.hours, d.priority, d.description)
         for d in demands],
    )  # fmt: skip
    write_csv(
        OUT_DIR / "resources.csv",
        ("resource_id", "unit_id", "kind", "categories", "amount", "range_km"),
        [
            (r.resource_id, r.unit_id, "service", r.categories, r.amount,
             "" if r.range_km is None else f"{r.range_km:g}")
            for r in RESOURCES
        ],
    )  # fmt: skip
    write_csv(OUT_DIR / "pairings.csv", ("unit_id", "community_id"), pairings)
    write_csv(
        OUT_DIR / "alliances.csv",
        ("alliance_id", "name", "district", "street"),
        [
            (aid, f"{street} Neighbourhood Red Alliance ({STREET_BY_NAME[street].zh}近邻红色联盟)",
             STREET_BY_NAME[street].district, street)
            for aid, street, _ in ALLIANCES
        ],
    )  # fmt: skip
    write_csv(
        OUT_DIR / "alliance_members.csv",
        ("alliance_id", "unit_id"),
        [(aid, uid) for aid, _, members in ALLIANCES for uid in members],
    )
    print(
        f"wrote {OUT_DIR}: {len(communities)} communities, {len(UNITS)} units, "
        f"{len(cadres)} cadres, {len(demands)} demands, {len(RESOURCES)} resources, "
        f"{len(pairings)} pairings, {len(ALLIANCES)} alliances"
    )


if __name__ == "__main__":
    main()
