"""Messages in the reader's language: gettext catalogues, read with Babel.

Every text a person reads is written in English in the code and marked for
translation; its translations live in one gettext catalogue per language,
``matcher/locale/<lang>/LC_MESSAGES/matcher.po``. A new language is a new catalogue
(``make messages NEW=fr`` starts one), never new code: :data:`LANGS` lists English and
every catalogue present.

Three ways to mark a text, all found by ``pybabel extract`` (``babel.cfg``):

- ``_ = translator(lang)`` then ``_("text {name}").format(name=...)``: translate now;
- ``N_("text {name}")``: mark a text kept for later (a :class:`Text`, a table row);
- ``_.ngettext(singular, plural, n)`` and ``_.pgettext(context, text)`` for plurals and
  for a short word whose sense needs a context.

Names of sheets, columns and coded values (社区, 优先级, 养老照护) are vocabulary, not
messages: :mod:`matcher.inputs.aliases` holds them, for reading and for writing.

>>> _ = translator("zh")
>>> _("Project list")
'项目清单'
>>> Text(N_("{sheet} sheet"), sheet="需求").render("zh")
'“需求”工作表'
"""

from __future__ import annotations

import gettext as _gettext
import io
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

__all__ = [
    "DOMAIN",
    "LANGS",
    "LOCALE_DIR",
    "N_",
    "SOURCE_LANG",
    "Text",
    "Translator",
    "check_lang",
    "display_width",
    "negotiate",
    "pad_display",
    "render",
    "thousands",
    "translator",
]

DOMAIN = "matcher"
SOURCE_LANG = "en"
LOCALE_DIR = Path(__file__).parent / "locale"


def _catalogue_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def _languages() -> tuple[str, ...]:
    found = sorted(
        p.name for p in LOCALE_DIR.iterdir() if p.is_dir() and _catalogue_path(p.name).is_file()
    )
    return (SOURCE_LANG, *(x for x in found if x != SOURCE_LANG))


# English (the code's own texts) and every language with a catalogue.
LANGS: tuple[str, ...] = _languages()


def N_(message: str) -> str:
    """Mark ``message`` for translation without translating it (it is translated when
    shown, by :func:`translator`)."""
    return message


class Translator(Protocol):
    """What :func:`translator` returns: call it like gettext's ``_``."""

    @property
    def lang(self) -> str:
        """The language it translates into."""
        ...

    def __call__(self, message: str) -> str:
        """``message`` in :attr:`lang` (itself where the catalogue has none)."""
        ...

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The form of ``singular``/``plural`` for ``n`` things, translated."""
        ...

    def pgettext(self, context: str, message: str) -> str:
        """``message`` translated in ``context`` (one English word, two meanings)."""
        ...


@dataclass(frozen=True)
class _Translator:
    lang: str
    catalogue: _gettext.NullTranslations

    def __call__(self, message: str) -> str:
        return self.catalogue.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.catalogue.ngettext(singular, plural, n)

    def pgettext(self, context: str, message: str) -> str:
        return self.catalogue.pgettext(context, message)


def check_lang(lang: str) -> str:
    """``lang`` if a catalogue (or the source language) speaks it, else a
    :class:`~matcher.errors.ParameterError`."""
    if lang not in LANGS:
        from matcher.errors import ParameterError

        raise ParameterError("lang", lang, " or ".join(LANGS))
    return lang


@cache
def translator(lang: str) -> Translator:
    """The texts of ``lang``: a callable that translates an English message.

    The catalogue is read (and compiled in memory) once per process. A message the
    catalogue lacks, or marks fuzzy, is shown in English.

    >>> translator("zh")("Project list")
    '项目清单'
    """
    check_lang(lang)
    if lang == SOURCE_LANG:
        return _Translator(lang, _gettext.NullTranslations())
    # Babel is imported here, not at the top: English output never needs it.
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with _catalogue_path(lang).open("rb") as f:
        catalog = read_po(f, locale=lang, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return _Translator(lang, _gettext.GNUTranslations(buf))


class Text(str):
    """A message that renders in whichever language the reader asks for.

    It *is* its English text (a ``str``), so code and tests that print, compare or
    serialise it see English; :meth:`render` gives another language. The values of the
    ``{placeholders}`` are kept; a value that is itself a :class:`Text` is rendered in
    the same language.

    >>> t = Text(N_("{sheet} sheet"), sheet="需求")
    >>> t, t.render("zh")
    ('需求 sheet', '“需求”工作表')
    """

    message: str
    args: dict[str, object]

    def __new__(cls, message: str, /, **args: object) -> Text:  # noqa: D102 (the class says it)
        self = super().__new__(cls, message.format(**args))
        self.message = message
        self.args = args
        return self

    def render(self, lang: str = SOURCE_LANG) -> str:
        """The message in ``lang``, its values filled in."""
        if lang == SOURCE_LANG:
            return str.__str__(self)
        values = {k: v.render(lang) if isinstance(v, Text) else v for k, v in self.args.items()}
        return translator(lang)(self.message).format(**values)

    def __reduce__(self) -> tuple[object, ...]:
        # Pickled by message and values (validation runs in child processes).
        return (_text, (self.message, self.args))


def _text(message: str, args: dict[str, object]) -> Text:
    return Text(message, **args)


def render(value: object, lang: str) -> object:
    """``value`` with every :class:`Text` in it rendered in ``lang``: through dicts,
    lists and tuples (a JSON body, a table row).

    >>> render({"detail": Text(N_(", row {row}"), row=2), "n": [1]}, "zh")
    {'detail': '，第 2 行', 'n': [1]}
    """
    if isinstance(value, Text):
        return value.render(lang)
    if isinstance(value, dict):
        return {k: render(v, lang) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(render(v, lang) for v in value)
    return value


_RANGE = re.compile(
    r"^\s*([A-Za-z]{1,8})(?:[-_]([A-Za-z0-9]{1,8}))*\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*$"
)


def negotiate(accept_language: str | None, default: str = SOURCE_LANG) -> str:
    """The language to answer in, from an HTTP ``Accept-Language`` header.

    The first range by quality whose primary tag has a catalogue wins (``zh-CN``,
    ``zh-Hans`` and ``zh`` all give ``zh``); ``default`` if none does.

    >>> negotiate("zh-CN,zh;q=0.9,en;q=0.8")
    'zh'
    >>> negotiate("fr-FR, en;q=0.5")
    'en'
    """
    if not accept_language:
        return default
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(accept_language.split(",")[:32]):
        m = _RANGE.match(part)
        if m is None:
            continue
        try:
            q = float(m.group(3)) if m.group(3) is not None else 1.0
        except ValueError:
            continue
        if q > 0:
            ranked.append((-q, i, m.group(1).lower()))
    for _, _, tag in sorted(ranked):
        if tag in LANGS:
            return tag
    return default


def display_width(text: str) -> int:
    """The columns ``text`` takes on a terminal: two for a wide (Chinese) character.

    >>> display_width("abc"), display_width("覆盖率")
    (3, 6)
    """
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def pad_display(text: str, width: int) -> str:
    """``text`` padded with spaces to ``width`` terminal columns (see :func:`display_width`).

    >>> pad_display("覆盖", 6) + "|"
    '覆盖  |'
    """
    return text + " " * max(width - display_width(text), 0)


def thousands(counts: Mapping[str, int]) -> dict[str, str]:
    """Each count written with thousands separators, as every language here writes them.

    >>> thousands({"hours": 12345})
    {'hours': '12,345'}
    """
    return {k: f"{v:,}" for k, v in counts.items()}
