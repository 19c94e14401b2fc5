"""Errors the planner raises on purpose, each carrying what a person needs to fix the input."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from matcher.i18n import N_, SOURCE_LANG, Text, translator

__all__ = [
    "CompareError",
    "DatasetError",
    "DeliveryError",
    "ExplainError",
    "Finding",
    "InfeasibleError",
    "MatcherError",
    "ParameterError",
    "PhaseError",
    "PlanFolderError",
    "ReplanError",
    "ScenarioError",
    "SolverError",
    "ValidationIssue",
    "first_issues",
]


@dataclass(frozen=True, slots=True)
class ValidationIssue:
    """One problem found in a dataset.

    Attributes
    ----------
    file
        The table's file name as the user gave it, e.g. ``"cadres.csv"``.
    row
        The row as a spreadsheet shows it: the header is row 1, the first data row is
        row 2. ``None`` when the problem concerns the whole file or a column.
    column
        The column at fault, or ``None`` for a whole file or row.
    value
        The offending value as read (truncated to 80 characters), or ``None``.
    expected
        What was expected instead, in plain words.
    severity
        ``"error"`` (the dataset is refused) or ``"warning"`` (it is kept).
    sheet
        For a workbook: the sheet as the user named it (``"需求"``); ``file`` is then the
        workbook's name and ``column`` the column's English name.
    letter
        For a workbook: the column's letter as Excel shows it (``"F"``).
    header
        For a workbook: the column's header as the user wrote it (``"优先级"``).
    """

    file: str
    row: int | None
    column: str | None
    value: str | None
    expected: str
    severity: str = "error"
    sheet: str | None = None
    letter: str | None = None
    header: str | None = None

    @classmethod
    def of_file(cls, file: str, expected: str, severity: str = "error") -> ValidationIssue:
        """A problem with a whole file (no row, column or value to name)."""
        return cls(file, None, None, None, expected, severity)

    def where(self, lang: str = SOURCE_LANG) -> str:
        """Where the issue is, as the user sees the file: ``demands.csv, row 4, column
        'priority'``, or for a workbook ``需求 sheet, row 7, column E 优先级``; in ``lang``."""
        _ = translator(lang)
        where = self.file if self.sheet is None else _("{sheet} sheet").format(sheet=self.sheet)
        if self.row is not None:
            where += _(", row {row}").format(row=self.row)
        if self.letter is not None:
            where += _(", column {letter} {header}").format(
                letter=self.letter, header=self.header or self.column
            )
        elif self.column is not None:
            where += _(", column '{column}'").format(column=self.header or self.column)
        return where

    def text(self, lang: str = SOURCE_LANG) -> str:
        """The whole message in ``lang``: where, the value found and what was expected."""
        _ = translator(lang)
        where = self.where(lang)
        expected = self.expected_text(lang)
        if self.value is None:
            return _("{where}: {expected}").format(where=where, expected=expected)
        got = _("an empty cell") if self.value == "" else repr(self.value)
        return _("{where}: got {got}, expected {expected}").format(
            where=where, got=got, expected=expected
        )

    def expected_text(self, lang: str = SOURCE_LANG) -> str:
        """What was expected, in ``lang``."""
        return self.expected.render(lang) if isinstance(self.expected, Text) else self.expected

    def __str__(self) -> str:
        return self.text(SOURCE_LANG)

    def to_dict(self, lang: str = SOURCE_LANG) -> dict[str, object]:
        """The issue as a JSON-ready dictionary (for the API and ``--json`` output), its
        texts in ``lang``; ``message`` is the whole sentence."""
        out = asdict(self)
        out["expected"] = self.expected_text(lang)
        out["message"] = self.text(lang)
        return out


class MatcherError(Exception):
    """Base class of the errors the planner raises deliberately (never a bug)."""


class DatasetError(MatcherError):
    """A dataset failed validation.

    Carries every problem found, up to the cap, so the user can fix them in one pass.

    Parameters
    ----------
    issues
        The errors found (warnings are not errors and are not carried here).
    source
        Where the dataset came from, for the message.
    truncated
        How many further errors were found but not listed because of the cap.
    """

    def __init__(self, issues: Sequence[ValidationIssue], source: str, truncated: int = 0) -> None:
        self.issues: tuple[ValidationIssue, ...] = tuple(issues)
        self.source = source
        self.truncated = truncated
        super().__init__(self.text())

    def text(self, lang: str = SOURCE_LANG) -> str:
        """A multi-line message listing every issue, in ``lang``."""
        _ = translator(lang)
        n = len(self.issues) + self.truncated
        head = _.ngettext(
            "dataset {source} has {n} error:", "dataset {source} has {n} errors:", n
        ).format(source=self.source, n=n)
        lines = [head, *(f"  - {issue.text(lang)}" for issue in self.issues)]
        if self.truncated:
            more = _("... and {n} more (raise max_errors to list them)")
            lines.append("  " + more.format(n=self.truncated))
        return "\n".join(lines)


class ParameterError(MatcherError, ValueError):
    """A run parameter has a value it cannot take."""

    def __init__(self, name: str, value: object, expected: str) -> None:
        self.name = name
        self.value = value
        self.expected = expected
        super().__init__(self.render(SOURCE_LANG))

    def render(self, lang: str) -> str:
        """The message in ``lang``; ``expected`` may be a :class:`~matcher.i18n.Text`."""
        expected = self.expected.render(lang) if isinstance(self.expected, Text) else self.expected
        _ = translator(lang)
        return _("parameter {name}={value}: expected {expected}").format(
            name=self.name, value=repr(self.value), expected=expected
        )


class PlanFolderError(MatcherError, ValueError):
    """A plan folder cannot be read, or the dataset given for it is not the plan's.

    Its message names the file, row and column; it is a :class:`~matcher.i18n.Text`:
    ``str(error)`` is English, ``error.args[0].render(lang)`` another language."""


class ReplanError(MatcherError, ValueError):
    """The previous plan cannot be used as asked: a pin is impossible or a file is wrong."""


class CompareError(MatcherError, ValueError):
    """Plans cannot be compared as asked: none given, or two with the same name."""


class ExplainError(MatcherError, ValueError):
    """A plan cannot be explained as asked (an unknown demand, bottlenecks of an integer
    plan, assignments that do not fit the dataset). Its message is a
    :class:`~matcher.i18n.Text`: ``exc.args[0].render(lang)``."""


class ScenarioError(MatcherError, ValueError):
    """A scenario that cannot be read or applied: names the file, change and field.

    Attributes
    ----------
    source
        The scenario file (or a label for an in-memory scenario).
    change
        The change's number, from 1, or ``None`` for the scenario as a whole.
    change_type
        The change's type, when known.
    field
        The field at fault as a dotted path inside the change (``where.district``,
        ``rows[2].hours``), or inside the scenario when ``change`` is ``None``.
    problem
        What is wrong and what was expected: a :class:`~matcher.i18n.Text`, so that the
        message (its ``args[0]``, also a ``Text``) can be shown in the reader's language.
    """

    def __init__(
        self,
        source: str,
        problem: str,
        *,
        change: int | None = None,
        change_type: str | None = None,
        field: str | None = None,
    ) -> None:
        self.source = source
        self.change = change
        self.change_type = change_type
        self.field = field
        self.problem = problem
        if change is None:
            where = Text(N_("scenario {source}"), source=source)
        elif change_type:
            where = Text(
                N_("scenario {source}, change {change} ({change_type})"),
                source=source,
                change=change,
                change_type=change_type,
            )
        else:
            where = Text(N_("scenario {source}, change {change}"), source=source, change=change)
        if field:
            where = Text(N_("{where}, field '{field}'"), where=where, field=field)
        super().__init__(Text(N_("{where}: {problem}"), where=where, problem=problem))

    def render(self, lang: str = SOURCE_LANG) -> str:
        """The message in ``lang``."""
        message = self.args[0]
        return message.render(lang) if isinstance(message, Text) else str(message)

    def to_dict(self) -> dict[str, object]:
        """The error as a JSON-ready dictionary."""
        return {
            "source": self.source,
            "change": self.change,
            "change_type": self.change_type,
            "field": self.field,
            "problem": self.problem,
        }


class PhaseError(MatcherError, ValueError):
    """An action the cycle's phase does not allow; names the phase and what it allows.

    Attributes
    ----------
    phase, action
        Where the cycle is, and what was asked.
    allowed
        The actions that phase allows (empty when none).
    """

    def __init__(self, phase: str, action: str, allowed: Sequence[str]) -> None:
        self.phase = phase
        self.action = action
        self.allowed = tuple(allowed)
        super().__init__(
            Text(
                N_("action {action} is not allowed in phase {phase}; allowed: {allowed}"),
                action=repr(action),
                phase=repr(phase),
                allowed=", ".join(self.allowed) if self.allowed else Text(N_("none")),
            )
        )


class DeliveryError(MatcherError, ValueError):
    """A delivery's status cannot move as asked; names the delivery and its status.

    Attributes
    ----------
    delivery_id, status, wanted
        The delivery, its status now, and the status asked for.
    """

    def __init__(self, delivery_id: str, status: str, wanted: str) -> None:
        self.delivery_id = delivery_id
        self.status = status
        self.wanted = wanted
        super().__init__(
            Text(
                N_("delivery {delivery} is {status}: it cannot become {wanted}"),
                delivery=repr(delivery_id),
                status=repr(status),
                wanted=repr(wanted),
            )
        )


class SolverError(MatcherError):
    """The solver ended without a usable answer (never raised for a proven optimum)."""


def first_issues(issues: Iterable[ValidationIssue], cap: int) -> tuple[list[ValidationIssue], int]:
    """Split issues into the first ``cap`` and a count of the rest."""
    kept: list[ValidationIssue] = []
    rest = 0
    for issue in issues:
        if len(kept) < cap:
            kept.append(issue)
        else:
            rest += 1
    return kept, rest


@dataclass(frozen=True, slots=True)
class Finding:
    """One item of a diagnosis: what is at fault and why.

    Attributes
    ----------
    rule
        The rule concerned (``coverage_floor``, ``lead_units``, ``funds``, ...).
    message
        A plain-language explanation: a :class:`~matcher.i18n.Text`, so that
        :meth:`text` can show it in the reader's language.
    demands, communities, units
        The ids at fault.
    """

    rule: str
    message: str
    demands: tuple[str, ...] = ()
    communities: tuple[str, ...] = ()
    units: tuple[str, ...] = ()

    def text(self, lang: str = SOURCE_LANG) -> str:
        """The finding as one line in ``lang``: rule, explanation and the ids at fault
        (the first 20 of each kind)."""
        _ = translator(lang)
        message = self.message.render(lang) if isinstance(self.message, Text) else self.message
        parts = [f"[{self.rule}] {message}"]
        labels = (
            (_("demands: {ids}"), self.demands),
            (_("communities: {ids}"), self.communities),
            (_("units: {ids}"), self.units),
        )
        for label, ids in labels:
            if ids:
                shown = ", ".join(ids[:20]) + (" ..." if len(ids) > 20 else "")
                parts.append(label.format(ids=shown))
        return "; ".join(parts)

    def __str__(self) -> str:
        return self.text(SOURCE_LANG)

    def to_dict(self, lang: str = SOURCE_LANG) -> dict[str, object]:
        """The finding as a JSON-ready dictionary, its message in ``lang`` (in English a
        :class:`~matcher.i18n.Text`, which a service renders in its reader's language)."""
        message = self.message
        if lang != SOURCE_LANG and isinstance(message, Text):
            message = message.render(lang)
        return {
            "rule": self.rule,
            "message": message,
            "demands": list(self.demands),
            "communities": list(self.communities),
            "units": list(self.units),
        }


class InfeasibleError(MatcherError):
    """The integer rules contradict each other or the data: no plan satisfies them all.

    Carries a diagnosis naming the demands, communities or units at fault.
    """

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.findings: tuple[Finding, ...] = tuple(findings)
        super().__init__(self.render(SOURCE_LANG))

    def render(self, lang: str = SOURCE_LANG) -> str:
        """The diagnosis in ``lang``: a heading, then one line per finding."""
        _ = translator(lang)
        lines = [_("no plan satisfies the integer rules:")]
        lines += [f"  - {f.text(lang)}" for f in self.findings]
        return "\n".join(lines)
