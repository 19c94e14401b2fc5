"""How values read on the report's page: numbers, names, KPIs, and HTML escaping.

Numbers read the same in both languages: thousands separated by commas and percentages
with one decimal are how Chinese reports write them too (Babel's zh locale agrees), so a
figure on the Chinese page is the same string as on the English one. Only the words around
the numbers ("n/a", "h", "pp") are translated.

>>> fmt_int(13905.2), fmt_pct(0.74), fmt_num(47121.849)
('13,905', '74.0%', '47,121.85')
>>> html_format("{n} of <all>", n="<b>3</b>")
'<b>3</b> of &lt;all&gt;'
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

from matcher.i18n import N_, SOURCE_LANG, Translator, translator
from matcher.inputs.io import is_missing
from matcher.inputs.names import display_name

__all__ = [
    "as_float",
    "as_int",
    "data_attrs",
    "escape",
    "fmt_int",
    "fmt_num",
    "fmt_pct",
    "fmt_value",
    "html_format",
    "kpi_html",
    "kpi_value",
    "page_name",
    "short_name",
    "solver_status_name",
]


def as_float(value: Any) -> float:
    """A table cell as a float (pandas cells are typed loosely)."""
    return float(value)


def as_int(value: Any) -> int:
    """A table cell as an int."""
    return int(value)


def escape(value: object) -> str:
    """``value`` as text escaped for HTML, quotes too (it may stand in an attribute)."""
    return html.escape(str(value), quote=True)


def html_format(message: str, /, **values: str) -> str:
    """A translated ``message`` escaped for HTML, its ``{placeholders}`` filled with
    ``values`` (HTML already: a KPI's span, a name escaped by the caller)."""
    return escape(message).format(**values)


def fmt_int(value: Any) -> str:
    """A whole number with thousands separators: ``13,905``."""
    return f"{round(value):,}"


def fmt_pct(value: Any, lang: str = SOURCE_LANG) -> str:
    """A share as a percentage with one decimal: ``74.0%`` (``n/a`` when missing, in
    ``lang``)."""
    if is_missing(value):
        return translator(lang)(N_("n/a"))
    return f"{100 * value:.1f}%"


def fmt_num(value: Any, lang: str = SOURCE_LANG) -> str:
    """A number with two decimals and thousands separators: ``47,121.85`` (``n/a`` when
    missing, in ``lang``)."""
    if is_missing(value):
        return translator(lang)(N_("n/a"))
    return f"{value:,.2f}"


def fmt_value(fmt: str, value: Any, lang: str) -> str:
    """``value`` in format ``fmt`` (``int``, ``pct`` or ``num``); ``n/a`` when missing.

    >>> fmt_value("pct", 0.5, "en"), fmt_value("int", None, "en")
    ('50.0%', 'n/a')
    """
    if is_missing(value):
        return translator(lang)(N_("n/a"))
    if fmt == "int":
        return fmt_int(value)
    return fmt_pct(value, lang) if fmt == "pct" else fmt_num(value, lang)


def kpi_value(kpis: Mapping[str, Any], path: Sequence[str]) -> Any:
    """The KPI at ``path`` (keys into nested mappings); ``None`` where there is none.

    >>> kpi_value({"a": {"b": 2}}, ["a", "b"]), kpi_value({"a": 1}, ["a", "b"])
    (2, None)
    """
    value: Any = kpis
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def kpi_html(
    kpis: Mapping[str, Any], path: Sequence[str], fmt: str, tag: str = "span", lang: str = "en"
) -> str:
    """A KPI as shown: its formatted number, with data attributes to read it back."""
    value = kpi_value(kpis, path)
    shown = fmt_value(fmt, value, lang)
    raw = json.dumps(value)
    return (
        f'<{tag} class="kpi" data-kpi="{escape(".".join(path))}" '
        f"data-kpi-path='{escape(json.dumps(list(path), ensure_ascii=False))}' "
        f"data-value='{escape(raw)}' data-format=\"{fmt}\">{escape(shown)}</{tag}>"
    )


def data_attrs(values: Mapping[str, object]) -> str:
    """``data-*`` attributes, escaped, each with a space before it.

    >>> data_attrs({"unit-id": "U1", "share": 0.5})
    ' data-unit-id="U1" data-share="0.5"'
    """
    return "".join(f' data-{k}="{escape(v)}"' for k, v in values.items())


def short_name(name: str) -> str:
    """A name's Chinese part when it has one in parentheses (``军门社区``), else the name:
    :func:`~matcher.inputs.names.display_name` in Chinese, the one rule for such names.

    >>> short_name("Military Gate Community (军门社区)")
    '军门社区'
    """
    return display_name(name, "zh")


def page_name(name: object, lang: str) -> str:
    """A community's or unit's name on the page: as written in English (both parts), its
    Chinese part in Chinese (:func:`~matcher.inputs.names.display_name`)."""
    return str(name) if lang == SOURCE_LANG else display_name(str(name), lang)


def solver_status_name(_: Translator, status: object) -> str:
    """The solver's status (``optimal``, ``feasible``) in the reader's language."""
    names = {
        "optimal": _.pgettext("solver status", "optimal"),
        "feasible": _.pgettext("solver status", "feasible"),
    }
    return names.get(str(status), str(status))
