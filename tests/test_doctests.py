"""The runnable examples in the library's docstrings still give what they show."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import matcher

ROOT = Path(__file__).resolve().parents[1]
# Every module and package (a package's __init__ may hold examples); not ``__main__``,
# which runs the command on import.
MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(matcher.__path__, "matcher.")
    if not m.name.endswith(".__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # examples name files relative to the repository
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed"
