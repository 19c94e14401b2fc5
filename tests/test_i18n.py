"""The translation mechanism (matcher.i18n) and the completeness of every catalogue."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from matcher import i18n
from matcher.errors import ParameterError
from matcher.i18n import LANGS, N_, Text, negotiate, translator

ROOT = Path(__file__).resolve().parents[1]


def _extracted() -> dict[tuple[str | None, str], tuple[str, ...]]:
    """Every marked text of the library and the service, and of the service's page
    templates, as pybabel extract finds them (the mapping of babel.cfg): (context,
    msgid) -> msgid and plural."""
    found: dict[tuple[str | None, str], tuple[str, ...]] = {}
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    for package in ("matcher", "api"):
        for _file, _line, message, _comments, context in extract_from_dir(
            ROOT / package, method_map=method_map, keywords=DEFAULT_KEYWORDS
        ):
            ids = (message,) if isinstance(message, str) else tuple(message)
            found[(context, ids[0])] = ids
    return found


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


CATALOGUE_LANGS = [x for x in LANGS if x != i18n.SOURCE_LANG]


def test_there_is_a_chinese_catalogue() -> None:
    assert "zh" in LANGS


@pytest.mark.parametrize("lang", CATALOGUE_LANGS)
def test_every_marked_text_has_a_translation(lang: str) -> None:
    """Fails when a text is marked in the code but its catalogue lacks it, leaves it
    empty or fuzzy, or drops or renames a {placeholder}: run `make messages` and
    translate what it adds."""
    with i18n._catalogue_path(lang).open("rb") as f:
        catalog = read_po(f, locale=lang, abort_invalid=True)
    missing, bad = [], []
    for (context, msgid), ids in _extracted().items():
        entry = catalog.get(msgid, context=context)
        strings = (
            []
            if entry is None
            else (list(entry.string) if isinstance(entry.string, tuple) else [entry.string])
        )
        if entry is None or entry.fuzzy or not all(strings):
            missing.append(msgid)
            continue
        wanted = set().union(*(_fields(x) for x in ids))
        if any(_fields(x) != wanted and _fields(x) - wanted for x in strings):
            bad.append(msgid)
    assert not missing, f"{lang}: {len(missing)} texts without a translation: {missing[:20]}"
    assert not bad, f"{lang}: placeholders differ from the English: {bad[:20]}"


@pytest.mark.parametrize("lang", CATALOGUE_LANGS)
def test_no_catalogue_keeps_texts_the_code_no_longer_has(lang: str) -> None:
    with i18n._catalogue_path(lang).open("rb") as f:
        catalog = read_po(f, locale=lang)
    found = _extracted()
    stale = [
        m.id
        for m in catalog
        if m.id and (m.context, m.id if isinstance(m.id, str) else m.id[0]) not in found
    ]
    assert not stale, f"{lang}: texts no code marks (run `make messages`): {stale[:20]}"


def test_english_is_the_code_itself() -> None:
    assert translator("en")("Project list") == "Project list"
    assert translator("en").ngettext("{n} error", "{n} errors", 2) == "{n} errors"


def test_a_text_renders_in_each_language_with_nested_texts() -> None:
    inner = Text(N_(", row {row}"), row=7)
    outer = Text(N_("{sheet} sheet"), sheet=inner)
    assert outer.render("en") == ", row 7 sheet" and str(outer) == ", row 7 sheet"
    assert outer.render("zh") == "“，第 7 行”工作表"
    assert inner == ", row 7" and isinstance(inner, str)


def test_an_unknown_language_is_a_parameter_error() -> None:
    with pytest.raises(ParameterError, match="lang"):
        translator("xx")


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        (None, "en"),
        ("", "en"),
        ("zh-CN", "zh"),
        ("zh-Hans-CN;q=0.8, en;q=0.5", "zh"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ("fr-FR, zh;q=0.3", "zh"),
        ("zh;q=0, en", "en"),
        ("*", "en"),
        ("zh;q=abc, en", "en"),
        ("garbage;;;,", "en"),
    ],
)
def test_accept_language_is_negotiated(header: str | None, lang: str) -> None:
    assert negotiate(header) == lang


def test_a_new_language_is_a_new_catalogue(add_catalogue: Any) -> None:
    """Adding matcher/locale/<lang>/LC_MESSAGES/matcher.po is all a language needs."""
    add_catalogue(
        "fr",
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
        'msgid ", row {row}"\nmsgstr ", ligne {row}"\n',
    )
    assert i18n._languages() == ("en", "fr", "zh")
    assert Text(N_(", row {row}"), row=3).render("fr") == ", ligne 3"
    assert negotiate("fr-CA") == "fr"


def test_a_text_survives_pickling_with_its_values() -> None:
    """Validation runs in child processes: an issue's texts come back whole."""
    import pickle

    text = Text(N_("{sheet} sheet"), sheet=Text(N_(", row {row}"), row="{x}"))
    back = pickle.loads(pickle.dumps(text))
    assert isinstance(back, Text) and back == text
    assert back.render("zh") == text.render("zh") == "“，第 {x} 行”工作表"


def test_translators_are_called_on_marked_texts_only() -> None:
    """``t("...")`` (a translator called on a literal) would never reach the catalogue:
    pybabel extracts ``_``/``N_``/``gettext``, so a literal is marked, ``t(N_("..."))``."""
    import re

    call = re.compile(r"""\b(?:t|translator\([^)]*\))\(\s*["']""")
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for package in ("matcher", "api")
        for path in (ROOT / package).rglob("*.py")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if call.search(line) and not line.lstrip().startswith(">>>")  # doctests show it
    ]
    assert not found, found
