"""Formula-safe CSV cells: the one rule for every CSV the planner writes as output.

A spreadsheet opening a CSV runs a cell that starts with ``=``, ``+``, ``-`` or ``@``
as a formula (and a leading tab or carriage return can hide such a start), so an id or
name chosen by whoever filled in a dataset could run in the planner's reader's
spreadsheet (OWASP "CSV injection"). Every output CSV therefore goes through
:func:`neutralise_formulas`, which prefixes such *text* cells with ``'``, the
character spreadsheets take as "this is text" and do not display.

The rule, exactly (:func:`safe_cell`):

* a text cell (a Python ``str`` in the frame) whose first character is one of
  ``= + - @``, a tab or a carriage return gets ``'`` put in front;
* a text cell that already starts with ``'`` gets one more ``'`` too, so that the
  prefix can always be told from the data: ``'abc`` is written ``''abc``;
* everything else is written as it is: numbers (``-3.5`` in a numeric column, or a
  float in a mixed column), empty cells, and text starting with any other character.

Column names follow the same rule. Reading the planner's own output back
(:func:`restore_formulas`, :func:`restore_cell`) removes one leading ``'`` exactly when
it is followed by one of those characters or by another ``'``, which undoes the rule
for every cell it wrote, so a plan folder round-trips: ids read back equal the
original ids. A cell the rule never writes (``'abc``, say, in a file written by hand
or by an earlier version) is left as it is.

Datasets — the planner's *input* — are never escaped on read: a user's own ``=x`` id
stays ``=x``. :func:`matcher.inputs.io.write_tables` (the generator, scenario outputs of
changed data, ``--apply``) writes datasets, which are inputs for the planner, and
leaves them unescaped as well, so that writing a dataset and loading it back gives the
same ids.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

__all__ = [
    "QUOTE",
    "TRIGGERS",
    "neutralise_formulas",
    "restore_cell",
    "restore_formulas",
    "safe_cell",
]

TRIGGERS = frozenset("=+-@\t\r")
"""First characters that make a spreadsheet read a cell as a formula (OWASP)."""
QUOTE = "'"
"""The prefix that marks a cell as text in a spreadsheet."""
_ESCAPED = TRIGGERS | {QUOTE}


def safe_cell(value: Any) -> Any:
    """``value`` as written to an output CSV: text that a spreadsheet would run, or that
    starts with ``'``, gets a ``'`` in front; anything else is returned unchanged.

    Examples
    --------
    >>> safe_cell("=1+1"), safe_cell("-C1"), safe_cell("'x"), safe_cell("C1"), safe_cell(-3.5)
    ("'=1+1", "'-C1", "''x", 'C1', -3.5)
    """
    if isinstance(value, str) and value and value[0] in _ESCAPED:
        return QUOTE + value
    return value


def restore_cell(value: Any) -> Any:
    """The inverse of :func:`safe_cell` on what it writes (one ``'`` removed before a
    trigger character or another ``'``); other values are returned unchanged.

    Examples
    --------
    >>> restore_cell("'=1+1"), restore_cell("''x"), restore_cell("'x"), restore_cell("C1")
    ('=1+1', "'x", "'x", 'C1')
    """
    if isinstance(value, str) and len(value) > 1 and value[0] == QUOTE and value[1] in _ESCAPED:
        return value[1:]
    return value


_FIRST = "[" + re.escape("".join(sorted(_ESCAPED))) + "]"
_ESCAPE_START = "^" + _FIRST
"""A text that :func:`safe_cell` changes, as a regular expression."""
_RESTORE_START = "^" + re.escape(QUOTE) + _FIRST
"""A text that :func:`restore_cell` changes."""


def _map_column(column: pd.Series, cell: Any, pattern: str) -> pd.Series | None:
    """The column with ``cell`` applied to its text values, or ``None`` when no value
    needs it (``pattern`` matches the texts that ``cell`` changes)."""
    if pd.api.types.is_object_dtype(column):
        # Mixed cells are possible (numbers among texts): decided on the distinct values,
        # so that a long column of few values (ties, kinds, statuses) costs one hash pass.
        try:
            values = pd.unique(column.dropna().to_numpy(dtype=object))
        except TypeError:  # unhashable cells (lists, dicts): no text to look at
            return None
        changed = {v: cell(v) for v in values if isinstance(v, str) and cell(v) != v}
        if not changed:
            return None
        return column.map(lambda v: changed.get(v, v) if isinstance(v, str) else v)
    if pd.api.types.is_string_dtype(column):
        # Text columns: one vectorised match (compiled, for Arrow-backed strings).
        hit = column.str.contains(pattern, regex=True, na=False)
        if not hit.any():
            return None
        out = column.copy()
        out[hit] = column[hit].map(cell)
        return out
    return None


def _apply(frame: pd.DataFrame, cell: Any, pattern: str) -> pd.DataFrame:
    out: pd.DataFrame | None = None
    for i in range(frame.shape[1]):
        mapped = _map_column(frame.iloc[:, i], cell, pattern)
        if mapped is not None:
            if out is None:
                out = frame.copy(deep=False)
            out.isetitem(i, mapped.array)
    names = [cell(c) for c in frame.columns]
    if names != list(frame.columns):
        out = (frame.copy(deep=False) if out is None else out).set_axis(names, axis=1)
    return frame if out is None else out


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with :func:`safe_cell` applied to every text cell and column name.

    Numeric columns are left alone (a negative number stays ``-3.5``), and so are the
    non-text values of mixed columns. The frame is not changed; the one returned shares
    the columns that needed nothing (it is the same object when nothing needed it).
    """
    return _apply(frame, safe_cell, _ESCAPE_START)


def restore_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` read from an output CSV with :func:`restore_cell` applied to every text
    cell and column name: the inverse of :func:`neutralise_formulas`."""
    return _apply(frame, restore_cell, _RESTORE_START)
