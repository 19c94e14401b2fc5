"""Names of places and units for a language.

The demo's names carry both languages, ``"Military Gate Community (军门社区)"``: a reader
in Chinese sees the Chinese part, a reader in English the English part. Names are data,
not messages: nothing here is translated, only picked.
"""

from __future__ import annotations

import re

_CJK = re.compile(r"[\u3400-\u9fff]")
_PAREN = re.compile(r"^(.*?)\s*[(（]([^()（）]*)[)）]\s*$")


def display_name(name: str, lang: str) -> str:
    """A name for a language: ``"Military Gate Community (军门社区)"`` is ``"Military Gate
    Community"`` in English and ``"军门社区"`` in Chinese; other names as written.

    >>> display_name("Military Gate Community (军门社区)", "zh")
    '军门社区'
    >>> display_name("Unit 3 (east)", "zh")
    'Unit 3 (east)'
    """
    m = _PAREN.match(name)
    if m and _CJK.search(m.group(2)) and not _CJK.search(m.group(1)):
        return m.group(2) if lang == "zh" else m.group(1)
    return name


__all__ = ["display_name"]
