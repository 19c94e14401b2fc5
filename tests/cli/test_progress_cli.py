"""``matcher plan``'s live progress line: on a terminal only, never with ``--quiet``."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "tests" / "data" / "example" / "dataset"
# Column generation, so that a round is reported too.
COMMAND = ("plan", str(EXAMPLE), "--param", "flow_solver=columns")


def _on_a_terminal(*args: str) -> tuple[int, str, str]:
    """Run ``matcher *args`` with its stderr on a pseudo-terminal: exit code, stdout and
    what the terminal got."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "matcher.cli", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
        cwd=ROOT,
    )
    os.close(follower)
    got = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closes when the process ends (EIO on Linux)
            break
        if not chunk:
            break
        got += chunk
    os.close(leader)
    assert process.stdout is not None
    out = process.stdout.read().decode()
    process.stdout.close()
    return process.wait(timeout=300), out, got.decode()


def test_piped_stderr_gets_no_progress_line() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "matcher.cli", *COMMAND],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr
    assert "\r" not in run.stderr and "\x1b" not in run.stderr
    assert "solving" not in run.stderr
    assert "optimal" in run.stdout


def test_a_terminal_gets_a_live_line_that_is_cleared() -> None:
    code, out, line = _on_a_terminal(*COMMAND)
    assert code == 0
    assert "\rloading · " in line and "\rsolving · round 1 · best 139.7 · bound 139.7" in line
    assert "making the tables" in line
    assert line.endswith("\r\x1b[K")  # the line is taken away before the summary
    assert "optimal" in out and "\r" not in out


def test_the_line_speaks_the_language_asked_for() -> None:
    code, _, line = _on_a_terminal(*COMMAND, "--lang", "zh")
    assert code == 0
    assert "\r" in line and "139.7" in line


def test_quiet_shows_no_line_even_on_a_terminal() -> None:
    code, out, line = _on_a_terminal(*COMMAND, "--quiet")
    assert code == 0
    assert line == "" and out == ""
