"""What a written plan folder says, for tests that compare plans made different ways."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from matcher.plans.tables import TIMING_KEYS


def plan_files(path: Path) -> dict[str, Any]:
    """A plan folder's two tables (bytes) and its KPIs without the timings."""
    kpis = json.loads((path / "kpis.json").read_text(encoding="utf-8"))
    return {
        "assignments": (path / "assignments.csv").read_bytes(),
        "demand_status": (path / "demand_status.csv").read_bytes(),
        "kpis": {k: v for k, v in kpis.items() if k not in TIMING_KEYS},
    }
