"""The README's first command works on a fresh copy, in a fresh virtual environment."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Build and run artefacts at the top of a working tree; never part of a clone.
_TOP_LEVEL_ARTEFACTS = {".git", ".venv", "data", "outbox", "build", "dist"}
_ARTEFACTS = shutil.ignore_patterns(
    "__pycache__", "*.egg-info", ".pytest_cache", ".ruff_cache", ".hypothesis"
)


def copy_checkout(dest: Path) -> Path:
    """Copy what a fresh clone of the repository holds into ``dest``; returns ``dest``.

    In a git working tree: the tracked files plus the untracked ones git does not
    ignore (a developer's uncommitted new files; a CI clone has none), exactly what
    ``.ci/run`` copies. Without ``.git`` (the copy ``.ci/run`` runs the tests in):
    every file but build and run artefacts.
    """
    listed = None
    if (ROOT / ".git").exists() and shutil.which("git"):
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=False,
        )
    if listed is not None and listed.returncode == 0:
        for name in sorted({os.fsdecode(n) for n in listed.stdout.split(b"\0") if n}):
            source = ROOT / name
            if not (source.is_file() or source.is_symlink()):  # deleted, not yet in the index
                continue
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target, follow_symlinks=False)
        return dest

    def ignore(folder: str, names: list[str]) -> set[str]:
        top = _TOP_LEVEL_ARTEFACTS.intersection(names) if Path(folder) == ROOT else set()
        return top | set(_ARTEFACTS(folder, names))

    shutil.copytree(ROOT, dest, ignore=ignore, symlinks=True)
    return dest


def _quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Quick start.*?```sh\n(.*?)```", readme, re.S)
    assert block, "README has no Quick start code block"
    return [line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]


def test_readme_names_exactly_two_commands_and_ci_runs_the_second() -> None:
    first, second = _quick_start_commands()
    assert "run --once" in first
    assert second == "bash .ci/run"
    assert ".venv/bin/python -m pytest" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.slow
def test_first_readme_command_in_a_fresh_checkout_and_venv(tmp_path: Path) -> None:
    # A user's clone: no ../shared beside it, no .venv, nothing built yet.
    checkout = copy_checkout(tmp_path / "checkout")
    assert not (checkout.parent / "shared").exists()
    first = _quick_start_commands()[0]
    result = subprocess.run(
        ["bash", "-c", first],
        cwd=checkout,
        capture_output=True,
        text=True,
        timeout=600,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(Path.home()), "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "16 fetched, 16 processed" in result.stdout
    assert "WLT-2026-000001" in result.stdout
    assert len(list((checkout / "outbox").glob("*.eml"))) >= 12
    # the shipped examples are left untouched (processed_action = "keep")
    assert len(list((checkout / "examples" / "maildir" / "new").iterdir())) == 16
