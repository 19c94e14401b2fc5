"""Shared fixtures: paths of the small named datasets in tests/data/."""

from __future__ import annotations

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
