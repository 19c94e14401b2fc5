"""The README and docs/: short README, links that resolve, examples that run as written."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
MATCHER = Path(sys.executable).parent / "matcher"

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def doc_files() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def blocks(path: Path, lang: str) -> list[str]:
    return [body for tag, body in FENCE.findall(path.read_text(encoding="utf-8")) if tag == lang]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return {slug(m) for m in re.findall(r"^#{1,6} (.+)$", text, re.M)}


def workdir(tmp_path: Path) -> Path:
    """A temporary working folder that sees the repository's datasets as ./datasets."""
    (tmp_path / "datasets").symlink_to(ROOT / "datasets", target_is_directory=True)
    return tmp_path


def test_readme_is_short() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines"


def test_slug_follows_github() -> None:
    assert slug("The store: tables for dashboards") == "the-store-tables-for-dashboards"
    assert slug("The objective, and the proof") == "the-objective-and-the-proof"


@pytest.mark.parametrize("path", doc_files(), ids=lambda p: p.name)
def test_relative_links_resolve(path: Path) -> None:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    links = [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t)]
    bad = []
    for target in links:
        file, _, anchor = target.partition("#")
        dest = (path.parent / file).resolve() if file else path
        if not dest.exists():
            bad.append(f"{target}: no file {dest}")
        elif anchor and anchor not in anchors(dest):
            bad.append(f"{target}: no heading #{anchor} in {dest.name}")
    assert bad == []


def test_index_lists_every_doc() -> None:
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    listed = set(LINK.findall(index))
    missing = {p.name for p in DOCS.glob("*.md") if p.name != "index.md"} - listed
    assert missing == set()
    assert "docs/index.md" in LINK.findall(README.read_text(encoding="utf-8"))


def test_readme_python_runs_and_prints_what_it_claims(tmp_path: Path) -> None:
    (code,) = blocks(README, "python")
    claims = [c.strip() for c in re.findall(r"# -> (.+)$", code, re.M)]
    assert claims, "the README's Python block claims no output"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=workdir(tmp_path),
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    for claim in claims:
        assert claim in done.stdout
    assert (tmp_path / "out" / "python-example" / "assignments.csv").exists()


def readme_commands() -> list[list[str]]:
    """Every `matcher ...` line of the README's shell blocks except the server itself."""
    commands = []
    for body in blocks(README, "sh"):
        for line in body.splitlines():
            # a line, and any `$(matcher ...)` inside one (`export KEY=$(matcher create-key ...)`)
            for part in [line, *re.findall(r"\$\((matcher [^)]*)\)", line)]:
                words = shlex.split(part, comments=True)
                if words[:1] == ["matcher"] and words[1:2] != ["serve"]:
                    commands.append(words)
    return commands


def test_readme_commands_run(tmp_path: Path) -> None:
    commands = readme_commands()
    assert len(commands) >= 7 and any(c[1] == "create-key" for c in commands)
    cwd = workdir(tmp_path)
    for words in commands:
        done = subprocess.run(
            [str(MATCHER), *words[1:]],
            cwd=cwd,
            env={**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'matcher.db'}"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, (words, done.stdout, done.stderr)
    assert (cwd / "out" / "fuzhou-demo" / "report.html").exists()


@pytest.mark.parametrize(
    "path", [p for p in sorted(DOCS.glob("*.md")) if blocks(p, "python")], ids=lambda p: p.name
)
def test_docs_python_runs(path: Path, tmp_path: Path) -> None:
    """Every Python block of docs/ runs as written, from a folder that sees the repository's
    datasets and tests/data as the examples name them."""
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "data").symlink_to(ROOT / "tests" / "data", target_is_directory=True)
    for code in blocks(path, "python"):
        done = subprocess.run(
            [sys.executable, "-c", code],
            cwd=workdir(tmp_path),
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, (path.name, done.stderr[-2000:])


def test_history_license_and_benchmarks_exist() -> None:
    for name in ("docs/performance-log.md", "docs/benchmarks.md", "CHANGELOG.md", "LICENSE"):
        assert (ROOT / name).is_file(), name
    assert "MIT License" in (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert re.search(r"^## \d{4}-\d{2}-\d{2}", (ROOT / "CHANGELOG.md").read_text(), re.M)
