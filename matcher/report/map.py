"""The report's map: communities at their coordinates, coloured by coverage.

:func:`map_svg` draws each community as a circle (colour = share of its demanded hours
covered, area = hours demanded), the pairing ties as lines in a group the page's switch
shows, a name per district, an empty scale bar and the buttons that zoom to a district;
the page's script (``static/report.js``) does the zooming and redraws the scale bar from
``data-full-viewbox`` and ``data-km-per-unit``. The legend is a separate SVG beside it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from matcher.i18n import Translator
from matcher.inputs.aliases import district_name, value_name
from matcher.inputs.dataset import Dataset
from matcher.model.geo import KM_PER_DEG_LAT
from matcher.report.charts import NO_DEMAND, PALETTE, coverage_colour
from matcher.report.format import (
    as_float,
    as_int,
    data_attrs,
    escape,
    fmt_int,
    fmt_pct,
    html_format,
    page_name,
)
from matcher.report.sections import section

__all__ = ["map_section", "map_svg"]

_R_MAX = 18.0
"""The radius of the circle of the community with the most demanded hours."""


@dataclass(frozen=True)
class _Frame:
    """Where the map draws a coordinate: longitudes shrunk by the cosine of the middle
    latitude, then scaled and centred in a ``width`` by ``height`` box."""

    width: int
    height: int
    kx: float
    scale: float
    lon_min: float
    lat_max: float
    off_x: float
    off_y: float

    def xy(self, lat: float, lon: float) -> tuple[float, float]:
        """The point of a latitude and longitude on the map."""
        x = self.off_x + (lon - self.lon_min) * self.kx * self.scale
        return x, self.off_y + (self.lat_max - lat) * self.scale

    @property
    def km_per_unit(self) -> float:
        """Kilometres per unit of the map (north to south; the script's scale bar)."""
        return 1 / (self.scale / KM_PER_DEG_LAT) if self.scale else 1.0

    @property
    def full_view(self) -> str:
        """The ``viewBox`` of the whole map."""
        return f"0 0 {self.width} {self.height}"


def _frame(lats: np.ndarray, lons: np.ndarray, width: int) -> _Frame:
    """The frame that fits these points into ``width`` (and a height of 360 to 616)."""
    pad = 28
    lat0 = float(np.mean([lats.min(), lats.max()])) if len(lats) else 0.0
    kx = math.cos(math.radians(lat0))
    span_x = max(float(lons.max() - lons.min()) * kx, 1e-4) if len(lons) else 1.0
    span_y = max(float(lats.max() - lats.min()), 1e-4) if len(lats) else 1.0
    scale = min((width - 2 * pad) / span_x, 560 / span_y)
    height = int(max(span_y * scale + 2 * pad, 360))
    return _Frame(
        width=width,
        height=height,
        kx=kx,
        scale=scale,
        lon_min=float(lons.min()) if len(lons) else 0.0,
        lat_max=float(lats.max()) if len(lats) else 0.0,
        off_x=(width - span_x * scale) / 2,
        off_y=(height - span_y * scale) / 2,
    )


def _radius(hours: float, hmax: float) -> float:
    """A community's circle: area proportional to demanded hours (``hmax`` the most); a
    floor keeps small demands visible."""
    return max(_R_MAX * math.sqrt(hours / hmax), 2.5) if hmax > 0 and hours > 0 else 2.5


def map_section(dataset: Dataset, coverage: pd.DataFrame, _: Translator) -> str:
    """The map's section: the pairing-ties switch, the map (:func:`map_svg`), its legend."""
    ties = html_format(
        _("show pairing ties ({n} unit–community pairings, dual registration)"),
        n=fmt_int(len(dataset.pairings)),
    )
    map_body = (
        '<div class="controls"><label><input type="checkbox" id="toggle-ties"> '
        f"{ties}</label></div>" + map_svg(dataset, coverage, _)
    )
    map_intro = html_format(
        _(
            "Each circle is a community at its coordinates: its colour is the share of its "
            "demanded hours the plan covers, its area the hours demanded. Hover over a circle "
            "for its figures; zoom to a district with the buttons."
        ),
    )
    return section("map-section", _("Where the plan reaches"), map_body, map_intro)


def map_svg(dataset: Dataset, coverage: pd.DataFrame, _: Translator, width: int = 780) -> str:
    """Communities at their coordinates, pairing ties as lines (hidden at first), and
    buttons that zoom to a district; the legend is a separate SVG beside it.

    ``coverage`` is :func:`~matcher.report.export.community_coverage`'s table.
    """
    communities = coverage
    units = dataset.units.set_index("unit_id")
    pairings = dataset.pairings
    paired_units = units.loc[sorted(set(pairings["unit_id"]))] if len(pairings) else units.iloc[:0]
    lats = np.concatenate((communities["lat"].to_numpy(float), paired_units["lat"].to_numpy(float)))
    lons = np.concatenate((communities["lon"].to_numpy(float), paired_units["lon"].to_numpy(float)))
    frame = _frame(lats, lons, width)
    width, height = frame.width, frame.height
    hmax = float(communities["hours_demanded"].max()) if len(communities) else 0.0
    aria = html_format(_("Map of communities by coverage"))
    districts, views = _districts_svg(communities, frame, _)
    svg = (
        f'<svg id="map" class="chart map" viewBox="0 0 {width} {height}" width="100%" '
        f'style="max-width:{width}px" role="img" '
        f'aria-label="{aria}" '
        f'data-full-viewbox="{frame.full_view}" data-km-per-unit="{frame.km_per_unit:.6f}">'
        f'<rect class="sea" x="-{width}" y="-{height}" width="{3 * width}" height="{3 * height}"/>'
        + _ties_svg(units, paired_units, pairings, communities, frame, _)
        + _communities_svg(communities, frame, hmax, _)
        + districts
        # Scale bar (redrawn by the page's script when zooming).
        + '<g id="map-scale"><line class="scale" x1="0" y1="0" x2="0" y2="0"/>'
        '<text class="tick" x="0" y="0" text-anchor="middle" data-size="11"></text></g>'
        "</svg>"
    )
    return f'{_zoom_bar(views, _)}<div class="mapwrap">{svg}{_map_legend(hmax, _)}</div>'


def _ties_svg(
    units: pd.DataFrame,
    paired_units: pd.DataFrame,
    pairings: pd.DataFrame,
    communities: pd.DataFrame,
    frame: _Frame,
    _: Translator,
) -> str:
    """The pairing ties, unit to community, and the paired units (``units`` by id), in a
    group hidden until the page's switch shows it."""
    lang = _.lang
    place = communities.set_index("community_id")
    parts = ['<g id="map-ties" style="display:none">']
    for unit_id, community_id in pairings[["unit_id", "community_id"]].itertuples(index=False):
        u, c = units.loc[unit_id], place.loc[community_id]
        x1, y1 = frame.xy(as_float(u["lat"]), as_float(u["lon"]))
        x2, y2 = frame.xy(as_float(c["lat"]), as_float(c["lon"]))
        title = _("{unit} ⇄ {community} (pairing)").format(
            unit=page_name(u["name"], lang), community=page_name(c["name"], lang)
        )
        parts.append(
            f'<line class="tie" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"'
            f"{data_attrs({'unit-id': unit_id, 'community-id': community_id})}>"
            f"<title>{escape(title)}</title></line>"
        )
    for unit_id, u in paired_units.iterrows():
        ux, uy = frame.xy(as_float(u["lat"]), as_float(u["lon"]))
        n = int((pairings["unit_id"] == unit_id).sum())
        about = _.ngettext(
            "{kind}, {level} level · paired with {n} community",
            "{kind}, {level} level · paired with {n} communities",
            n,
        ).format(
            kind=value_name("units", "kind", str(u["kind"]), lang),
            level=value_name("units", "level", str(u["level"]), lang),
            n=n,
        )
        parts.append(
            f'<circle class="unit" cx="{ux:.1f}" cy="{uy:.1f}" r="4" data-r="4"'
            f"{data_attrs({'unit-id': unit_id})}><title>{escape(page_name(u['name'], lang))}\n"
            f"{escape(about)}</title></circle>"
        )
    parts.append("</g>")
    return "".join(parts)


def _communities_svg(communities: pd.DataFrame, frame: _Frame, hmax: float, _: Translator) -> str:
    """A circle per community, largest first so that small circles stay on top and
    reachable; its tooltip tells its figures."""
    lang = _.lang
    parts = ['<g id="map-communities">']
    order = communities.sort_values(
        ["hours_demanded", "community_id"], ascending=[False, True], kind="stable"
    )
    for row in order.itertuples(index=False):
        cx, cy = frame.xy(as_float(row.lat), as_float(row.lon))
        share = as_float(row.coverage)
        has = not math.isnan(share)
        covered = (
            _("{covered} of {demanded} hours covered ({share})").format(
                covered=fmt_int(row.hours_covered),
                demanded=fmt_int(row.hours_demanded),
                share=fmt_pct(share, lang),
            )
            if has
            else _("no demanded hours")
        )
        counts = _.ngettext(
            "{n} demand · {households} households",
            "{n} demands · {households} households",
            as_int(row.demands),
        ).format(n=as_int(row.demands), households=fmt_int(row.households))
        where = f"{district_name(str(row.district), lang)} · {row.street}"
        title = f"{page_name(row.name, lang)}\n{where}\n{covered}\n{counts}"
        data = {
            "community-id": row.community_id,
            "district": row.district,
            "coverage": json.dumps(share if has else None),
            "hours-demanded": row.hours_demanded,
            "hours-covered": row.hours_covered,
        }
        r = _radius(as_float(row.hours_demanded), hmax)
        parts.append(
            f'<circle class="mark community" cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.2f}" '
            f'data-r="{r:.2f}" fill="{coverage_colour(share)}"'
            f"{data_attrs(data)}><title>{escape(title)}</title></circle>"
        )
    parts.append("</g>")
    return "".join(parts)


def _districts_svg(
    communities: pd.DataFrame, frame: _Frame, _: Translator
) -> tuple[str, list[tuple[str, str, str]]]:
    """District names at the centre of their communities, over the circles (with a halo),
    and the zoom buttons' views: (district, its name, viewBox), first the whole map."""
    lang = _.lang
    width, height = frame.width, frame.height
    parts = ['<g id="map-districts">']
    views = [("", _("All districts"), frame.full_view)]
    for district, group in communities.groupby("district", sort=True):
        pts = [
            frame.xy(float(a), float(b)) for a, b in zip(group["lat"], group["lon"], strict=True)
        ]
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        cx, cy = float(np.mean(xs)), float(np.mean(ys))
        parts.append(
            f'<text class="district" x="{cx:.1f}" y="{cy:.1f}" text-anchor="middle" '
            f'data-size="18">{escape(district_name(str(district), lang))}</text>'
        )
        # A view of the district with room for its circles, in the map's proportions.
        w = max(max(xs) - min(xs), 60.0) + 2 * _R_MAX + 40
        h = max(max(ys) - min(ys), 60.0) + 2 * _R_MAX + 40
        w, h = max(w, h * width / height), max(h, w * height / width)
        mx, my = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
        views.append(
            (
                str(district),
                district_name(str(district), lang),
                f"{mx - w / 2:.1f} {my - h / 2:.1f} {w:.1f} {h:.1f}",
            )
        )
    parts.append("</g>")
    return "".join(parts), views


def _zoom_bar(views: list[tuple[str, str, str]], _: Translator) -> str:
    """A button per view, the first active; the page's script zooms the map to it."""
    # data-district names the button's district whatever its label's language ("" = all).
    buttons = "".join(
        f'<button type="button" class="zoom{" active" if i == 0 else ""}" '
        f'data-district="{escape(district)}" data-viewbox="{vb}">{escape(name)}</button>'
        for i, (district, name, vb) in enumerate(views)
    )
    zoom = html_format(_("Zoom:"))
    return f'<div class="zoombar" id="map-zoom">{zoom} {buttons}</div>'


def _map_legend(hmax: float, _: Translator) -> str:
    """The map's legend, an SVG of its own: the coverage scale, circle sizes, ties."""
    words = {
        "legend": html_format(_("Map legend")),
        "coverage": html_format(_("Coverage of demanded hours")),
        "none": html_format(_("no demanded hours")),
        "hours": html_format(_("Demanded hours (circle area)")),
        "with": html_format(_("With “show pairing ties”")),
        "unit": html_format(_("unit with pairings")),
        "tie": html_format(_("pairing tie")),
    }
    parts = [
        '<svg id="map-legend" class="legend-svg" viewBox="0 0 210 330" width="210" '
        f'height="330" role="img" aria-label="{words["legend"]}">'
    ]
    parts.append(f'<text class="legend-title" x="0" y="14">{words["coverage"]}</text>')
    parts.append(
        '<defs><linearGradient id="coverage-gradient" x1="0" x2="1" y1="0" y2="0">'
        + "".join(
            f'<stop offset="{i / (len(PALETTE) - 1):.2f}" stop-color="{c}"/>'
            for i, c in enumerate(PALETTE)
        )
        + "</linearGradient></defs>"
    )
    parts.append('<rect x="8" y="24" width="180" height="12" fill="url(#coverage-gradient)"/>')
    for share in (0, 0.5, 1):
        parts.append(
            f'<text class="tick" x="{8 + 180 * share:.1f}" y="50" text-anchor="middle">'
            f"{round(100 * share)}%</text>"
        )
    parts.append(
        f'<circle cx="14" cy="68" r="5" fill="{NO_DEMAND}"/>'
        f'<text class="tick" x="26" y="72">{words["none"]}</text>'
    )
    parts.append(f'<text class="legend-title" x="0" y="104">{words["hours"]}</text>')
    y = 116.0
    if hmax > 0:
        steps = sorted({_round_hours(hmax), _round_hours(hmax / 4), _round_hours(hmax / 16)})
        for hours in reversed(steps):
            r = _radius(hours, hmax)
            label = html_format(_("{hours} h"), hours=fmt_int(hours))
            parts.append(
                f'<circle class="size" cx="26" cy="{y + r:.1f}" r="{r:.1f}"/>'
                f'<text class="tick" x="54" y="{y + r + 4:.1f}">'
                f"{label}</text>"
            )
            y += 2 * r + 8
    parts.append(
        f'<text class="legend-title" x="0" y="{y + 18:.1f}">'
        f"{words['with']}</text>"
        f'<circle class="unit" cx="26" cy="{y + 34:.1f}" r="4"/>'
        f'<text class="tick" x="54" y="{y + 38:.1f}">{words["unit"]}</text>'
        f'<line class="tie" x1="14" y1="{y + 58:.1f}" x2="38" y2="{y + 50:.1f}"/>'
        f'<text class="tick" x="54" y="{y + 58:.1f}">{words["tie"]}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _round_hours(hours: float) -> float:
    """Hours rounded to one significant digit (at least 1): a legend circle's size.

    >>> _round_hours(2345.0), _round_hours(0.4)
    (2000.0, 1.0)
    """
    if hours <= 1:
        return 1.0
    mag = 10 ** math.floor(math.log10(hours))
    return float(max(round(hours / mag) * mag, 1))
