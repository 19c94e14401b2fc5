"""Faces of a plan for people: the HTML report, exports, the project list workbook.

- :mod:`~matcher.report.html`: the self-contained report page (``build_report``), made
  of :mod:`~matcher.report.sections`, :mod:`~matcher.report.map`,
  :mod:`~matcher.report.charts`, :mod:`~matcher.report.compare` and
  :mod:`~matcher.report.supply`, formatted by :mod:`~matcher.report.format`, with its
  style sheet and script in ``static/``;
- :mod:`~matcher.report.export`: GeoJSON, CSV and Parquet for dashboards;
- :mod:`~matcher.report.projectlist`: the project list as an Excel workbook.
"""

__all__: list[str] = []
