"""The tables of a dataset and their columns, as the product spec defines them.

One declaration drives reading, validation, typed conversion and the documentation of
errors, so that a new column is added in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from matcher.i18n import N_, Text

__all__ = [
    "RESOURCE_KINDS",
    "TABLES",
    "TABLES_BY_NAME",
    "TABLE_NAMES",
    "UNIT_KINDS",
    "UNIT_LEVELS",
    "Column",
    "Kind",
    "Table",
]


class Kind(Enum):
    """How a column's cells are read and checked."""

    ID = "id"  # non-empty string, unique within its table
    TEXT = "text"  # non-empty string (free text when optional)
    REF = "ref"  # id of a row in another table
    INT = "int"  # whole number within [lo, hi]
    FLOAT = "float"  # finite number within [lo, hi]
    ENUM = "enum"  # one of a fixed set of words
    LIST = "list"  # words joined by ';'


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a table.

    ``optional`` means the column may be missing and its cells may be empty; every
    other column must be present with a value in every row.
    """

    name: str
    kind: Kind
    optional: bool = False
    ref: str | None = None
    choices: tuple[str, ...] = ()
    lo: float | None = None
    hi: float | None = None
    hi_open: bool = False
    lo_open: bool = False
    expected: str = ""


@dataclass(frozen=True, slots=True)
class Table:
    """One table of a dataset: its file stem, columns and key."""

    name: str
    columns: tuple[Column, ...]
    required: bool = True
    key: tuple[str, ...] = ()

    @property
    def id_column(self) -> str | None:
        """The column holding the table's own ids, if it has one."""
        for col in self.columns:
            if col.kind is Kind.ID:
                return col.name
        return None

    def column(self, name: str) -> Column:
        """The column called ``name``."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)


UNIT_KINDS = ("government", "enterprise", "social_org", "institution")
UNIT_LEVELS = ("municipal", "district", "street", "none")
RESOURCE_KINDS = ("service", "funds")


def _degrees(name: str, limit: float, expected: Text, optional: bool) -> Column:
    return Column(name, Kind.FLOAT, optional, lo=-limit, hi=limit, expected=expected)


def _lat(optional: bool = False) -> Column:
    return _degrees("lat", 90.0, Text(N_("a latitude in degrees, -90 to 90")), optional)


def _lon(optional: bool = False) -> Column:
    return _degrees("lon", 180.0, Text(N_("a longitude in degrees, -180 to 180")), optional)


def _hours() -> Column:
    return Column("hours", Kind.INT, lo=0, expected=Text(N_("a whole number of hours, 0 or more")))


def _id(name: str) -> Column:
    return Column(name, Kind.ID, expected=Text(N_("a non-empty id, unique in the file")))


def _ref(name: str, table: str, optional: bool = False) -> Column:
    return Column(
        name,
        Kind.REF,
        optional=optional,
        ref=table,
        expected=Text(N_("an id listed in {table}"), table=table),
    )


def _not_negative(name: str, kind: Kind, expected: Text, optional: bool = True) -> Column:
    return Column(name, kind, optional=optional, lo=0, expected=expected)


def _text(name: str, optional: bool = False) -> Column:
    return Column(name, Kind.TEXT, optional=optional, expected=Text(N_("a non-empty text")))


def _links(name: str, *refs: tuple[str, str]) -> Table:
    """An optional table of links between rows of other tables: a row per pair of ids,
    each pair once."""
    return Table(
        name,
        tuple(_ref(column, table) for column, table in refs),
        required=False,
        key=tuple(column for column, _ in refs),
    )


TABLES: tuple[Table, ...] = (
    Table(
        "communities",
        (
            _id("community_id"),
            _text("name"),
            _text("district"),
            _text("street"),
            _lat(),
            _lon(),
            Column(
                "households",
                Kind.INT,
                lo=0,
                expected=Text(N_("a whole number of households, 0 or more")),
            ),
        ),
    ),
    Table(
        "units",
        (
            _id("unit_id"),
            _text("name"),
            Column("kind", Kind.ENUM, choices=UNIT_KINDS),
            Column("level", Kind.ENUM, choices=UNIT_LEVELS),
            _text("district"),
            _lat(),
            _lon(),
            _not_negative(
                "lead_capacity",
                Kind.FLOAT,
                Text(N_("a number 0 or more (the effort the unit can lead)")),
            ),
        ),
    ),
    Table(
        "cadres",
        (
            _id("cadre_id"),
            _ref("unit_id", "units"),
            Column(
                "skills",
                Kind.LIST,
                expected=Text(N_("at least one skill (categories joined by ';')")),
            ),
            _hours(),
            _ref("home_community_id", "communities", optional=True),
            _lat(optional=True),
            _lon(optional=True),
        ),
    ),
    Table(
        "demands",
        (
            _id("demand_id"),
            _ref("community_id", "communities"),
            _text("category"),
            _hours(),
            Column(
                "priority", Kind.INT, lo=1, hi=5, expected=Text(N_("a whole number from 1 to 5"))
            ),
            _not_negative(
                "min_hours",
                Kind.INT,
                Text(N_("a whole number of hours, 0 or more, at most the demand's hours")),
            ),
            _not_negative("funds", Kind.FLOAT, Text(N_("an amount in yuan, 0 or more"))),
            _text("description", optional=True),
        ),
    ),
    Table(
        "resources",
        (
            _id("resource_id"),
            _ref("unit_id", "units"),
            Column("kind", Kind.ENUM, choices=RESOURCE_KINDS),
            Column(
                "categories",
                Kind.LIST,
                optional=True,
                expected=Text(N_("categories joined by ';' (empty for any)")),
            ),
            _not_negative(
                "amount",
                Kind.FLOAT,
                Text(N_("an amount 0 or more (whole hours for service, yuan for funds)")),
                optional=False,
            ),
            Column(
                "range_km",
                Kind.FLOAT,
                optional=True,
                lo=0,
                lo_open=True,
                expected=Text(N_("a distance in km greater than 0")),
            ),
        ),
        required=False,
    ),
    _links("pairings", ("unit_id", "units"), ("community_id", "communities")),
    Table(
        "alliances",
        (_id("alliance_id"), _text("name"), _text("district"), _text("street")),
        required=False,
    ),
    _links("alliance_members", ("alliance_id", "alliances"), ("unit_id", "units")),
    Table(
        "lead_options",
        (
            _ref("demand_id", "demands"),
            _ref("unit_id", "units"),
            Column("effort", Kind.FLOAT, lo=0, expected=Text(N_("an effort 0 or more"))),
            Column("cost", Kind.FLOAT, expected=Text(N_("a finite number"))),
        ),
        required=False,
        key=("demand_id", "unit_id"),
    ),
)

TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}
TABLE_NAMES: tuple[str, ...] = tuple(t.name for t in TABLES)
