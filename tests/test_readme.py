"""The README's first command works on a fresh copy, in a fresh virtual environment."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


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
    checkout = tmp_path / "checkout"
    ignore = shutil.ignore_patterns(
        ".venv", "data", "outbox", "__pycache__", ".git", "*.egg-info", ".pytest_cache"
    )
    shutil.copytree(ROOT, checkout, ignore=ignore)
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
