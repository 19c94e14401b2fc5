"""Shared fixtures: paths of the small named datasets in tests/data/."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent


@pytest.fixture
def example_dir() -> Path:
    """The spec's worked example (three communities, every tie)."""
    return DATA / "example" / "dataset"


@pytest.fixture
def reasons_dir() -> Path:
    """A dataset with one demand for each reason a demand goes short."""
    return DATA / "reasons"


@pytest.fixture
def add_catalogue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str, str], None]]:
    """Install a gettext catalogue for a language no code knows, beside the shipped ones:
    ``add_catalogue("fr", PO_TEXT)``. The planner's locale folder is swapped for one under
    ``tmp_path`` for the test, and ``matcher.i18n.LANGS`` re-read from it."""
    from matcher import i18n

    root = tmp_path / "locale"
    for lang in i18n.LANGS[1:]:
        (root / lang / "LC_MESSAGES").mkdir(parents=True)
        (root / lang / "LC_MESSAGES" / "matcher.po").write_bytes(
            i18n._catalogue_path(lang).read_bytes()
        )
    monkeypatch.setattr(i18n, "LOCALE_DIR", root)

    def add(lang: str, po: str) -> None:
        (root / lang / "LC_MESSAGES").mkdir(parents=True)
        (root / lang / "LC_MESSAGES" / "matcher.po").write_text(po, encoding="utf-8")
        monkeypatch.setattr(i18n, "LANGS", i18n._languages())
        i18n.translator.cache_clear()

    yield add
    i18n.translator.cache_clear()
