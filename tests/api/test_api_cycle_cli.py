"""``matcher cycle`` against a real ``matcher serve``: a cycle opened, its lists filled
from a file, planned, adopted and moved on from the command line; refusals on stderr
with the fields they name and exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
from conftest import MATCHER_BIN, zip_folder

DEMO = Path(__file__).resolve().parents[2] / "datasets" / "fuzhou-demo"


def cycle_cli(
    server: Any, role: str, *args: str, lang: str = "en"
) -> subprocess.CompletedProcess[str]:
    """``matcher cycle ARGS`` as ``role``, through the environment's URL and key."""
    env = {**os.environ, "MATCHER_URL": server.base, "MATCHER_KEY": server.keys[role]}
    return subprocess.run(
        [MATCHER_BIN, "cycle", "--lang", lang, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def answer(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_cycle_from_the_command_line(live_server: Any, tmp_path: Path) -> None:
    server = live_server()
    dataset = httpx.post(
        f"{server.base}/datasets",
        content=zip_folder(DEMO),
        headers={**server.h("planner"), "Content-Type": "application/zip"},
        timeout=60,
    ).json()["id"]
    cycle = answer(
        cycle_cli(
            server,
            "planner",
            "create",
            "--district",
            "Gulou",
            "--period",
            "2026-Q4",
            "--dataset",
            dataset,
            "--skip",
            "discussion",
        )
    )
    assert cycle["phase"] == "collecting" and "discussion" in cycle["skipped"]
    cid = cycle["id"]
    hotline = tmp_path / "hotline.csv"
    hotline.write_text(
        "demand_id,community_id,category,hours,priority\nH1,C-JUNMEN,elderly_care,6,4\n",
        encoding="utf-8",
    )
    added = answer(
        cycle_cli(server, "community", "add", cid, "demands", str(hotline), "--origin", "hotline")
    )
    assert (added["count"], added["keys"], added["origin"]) == (1, ["H1"], "hotline")
    rows = answer(cycle_cli(server, "planner", "lists", cid, "demands"))
    assert any(r["row"]["demand_id"] == "H1" and r["origin"] == "hotline" for r in rows["items"])
    # a refusal: the unit may not add demands (403), in the chosen language, exit code 2
    refused = cycle_cli(server, "unit", "add", cid, "demands", str(hotline), lang="zh")
    assert refused.returncode == 2 and "403" in refused.stderr and refused.stdout == ""
    assert answer(cycle_cli(server, "planner", "move", cid, "open_planning"))["phase"] == "planning"
    run = answer(cycle_cli(server, "planner", "run", cid, "--wait"))
    assert run["status"] == "succeeded"
    answer(cycle_cli(server, "planner", "adopt", cid, run["id"]))
    draft = answer(cycle_cli(server, "planner", "draft", cid))
    assert any(p["demand_id"] == "H1" for p in draft["projects"])
    assert answer(cycle_cli(server, "planner", "move", cid, "submit"))["phase"] == "street_review"
    # a return needs a reason: 422 naming the field
    bare = cycle_cli(server, "street_reviewer", "move", cid, "return")
    assert bare.returncode == 2 and "reason" in bare.stderr
    back = answer(cycle_cli(server, "street_reviewer", "move", cid, "return", "--reason", "more"))
    assert back["phase"] == "planning"
    log = answer(cycle_cli(server, "planner", "audit", cid))
    assert [e["action"] for e in log["items"]][-2:] == ["review_return", "return"]
    # a server that is not there: exit code 1, a message, no traceback
    gone = subprocess.run(
        [MATCHER_BIN, "cycle", "--url", "http://127.0.0.1:9", "list"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "MATCHER_KEY": "x"},
    )
    assert gone.returncode == 1 and "error" in gone.stderr and "Traceback" not in gone.stderr
