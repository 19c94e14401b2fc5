"""Faces of a plan for people: the HTML report, exports, the project list workbook."""
