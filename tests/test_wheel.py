"""The built wheel works on its own: installed in a fresh venv, run outside the checkout.

How the venv gets its dependencies: pip resolves them the ordinary way (the index pip
is configured with, PyPI in CI). That cannot be avoided anyway: building the wheel
needs the build backend pyproject.toml names (setuptools>=68, wheel), which pip
fetches into an isolated build environment. Resolving the dependencies the way a
user's `pip install inbox_agent-*.whl` does also proves the wheel *declares*
everything it imports at run time. Borrowing the test venv's site-packages instead
(a .pth file) would hide a missing dependency behind the test extras, and that venv
also holds the editable install of this checkout, which must not leak in.

The wheel is built from a copy of what a clone holds (``copy_checkout``), not from the
checkout itself: setuptools never cleans ``build/``, so a stale ``build/lib`` could
put a template that is gone (or was never packaged) into the wheel and hide the bug.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from test_readme import ROOT, copy_checkout

# Files the package reads at run time from its own folder; without them it cannot run.
PACKAGE_DATA = (
    "inbox_agent/config/default_rules.toml",
    "inbox_agent/mail/templates/labels.toml",
    "inbox_agent/mail/templates/ack_first.en.txt.j2",
    "inbox_agent/mail/templates/ack_first.zh.html.j2",
    "inbox_agent/mail/templates/report.html.j2",
)


def _clean_env() -> dict[str, str]:
    """This process's environment minus what would tie a child Python to the test venv."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}}
    env["COLUMNS"] = "200"
    return env


def _run(args: list[str | Path], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _set_in_section(text: str, section: str, key: str, value: str) -> str:
    """Set ``key = "value"`` under ``[section]`` of a TOML text, keeping its comments."""
    lines = text.splitlines(keepends=True)
    current = None
    for index, line in enumerate(lines):
        header = re.match(r"\s*\[([^\]]+)\]\s*$", line)
        if header:
            current = header.group(1).strip()
        elif current == section and re.match(rf"{re.escape(key)}\s*=", line):
            lines[index] = f"{key} = {json.dumps(value)}\n"  # JSON strings are TOML basic strings
            return "".join(lines)
    raise AssertionError(f"config.example.toml has no [{section}] {key} any more; update this test")


def _maildir_listing(maildir: Path) -> list[tuple[str, int, int]]:
    return sorted(
        (str(p.relative_to(maildir)), p.stat().st_size, p.stat().st_mtime_ns) for p in maildir.rglob("*")
    )


@pytest.mark.slow
def test_wheel_in_a_fresh_venv_runs_the_example_from_outside_the_checkout(tmp_path: Path) -> None:
    source = copy_checkout(tmp_path / "standalone" / "repo")
    dist, venv, elsewhere, out = (tmp_path / name for name in ("dist", "venv", "cwd", "out"))
    for folder in (dist, elsewhere, out):
        folder.mkdir()

    # 1. the wheel, with its package data
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", dist, source], cwd=tmp_path)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (wheel,) = dist.glob("inbox_agent-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [name for name in PACKAGE_DATA if name not in names]
    assert not missing, f"the wheel lacks package data: {missing}"
    assert not [n for n in names if n.startswith(("tests/", "bench/", "examples/"))], "only the package ships"

    # 2. a fresh venv (no system site-packages, no editable checkout) with the wheel
    created = _run([sys.executable, "-m", "venv", venv], cwd=tmp_path, timeout=120)
    assert created.returncode == 0, created.stderr
    python = venv / "bin" / "python"
    installed = _run([python, "-m", "pip", "install", "--quiet", wheel], cwd=tmp_path)
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]

    # 3. the example config, made independent of the working directory: the checkout's
    #    example Maildir (read, never changed: processed_action = "keep"), output in tmp
    maildir = ROOT / "examples" / "maildir"
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    text = _set_in_section(text, "mailbox.maildir", "path", str(maildir))
    text = _set_in_section(text, "smtp", "directory", str(out / "outbox"))
    text = _set_in_section(text, "storage", "data_dir", str(out / "data"))
    settings = tomllib.loads(text)
    assert settings["mailbox"]["kind"] == "maildir" and settings["smtp"]["kind"] == "directory"
    assert settings["mailbox"]["maildir"]["processed_action"] == "keep", "the run would change the examples"
    assert "dir" not in settings.get("templates", {}), "the templates must come from the wheel"
    config = tmp_path / "config" / "config.toml"
    config.parent.mkdir()
    config.write_text(text, encoding="utf-8")

    # 4. one cycle with the installed command, from a folder that is neither
    before = _maildir_listing(maildir)
    result = _run([venv / "bin" / "inbox-agent", "--config", config, "run", "--once"], cwd=elsewhere)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    acknowledgements = sorted((out / "outbox").glob("*.eml"))
    assert len(acknowledgements) >= 12, result.stdout[-3000:]
    assert any(b"WLT-2026-" in path.read_bytes() for path in acknowledgements)  # rendered templates
    assert _maildir_listing(maildir) == before
    assert list(elsewhere.iterdir()) == [], "nothing may be written relative to the working directory"

    # 5. what ran is the wheel's copy, not this checkout
    where = _run(
        [
            python,
            "-c",
            "import importlib.resources, inbox_agent; print(inbox_agent.__file__); "
            "print(importlib.resources.files('inbox_agent.mail') / 'templates')",
        ],
        cwd=elsewhere,
        timeout=60,
    )
    assert where.returncode == 0, where.stderr
    package, templates = (Path(line) for line in where.stdout.split())
    assert package.resolve().is_relative_to(venv.resolve()), package
    assert templates.resolve().is_relative_to(venv.resolve()) and templates.is_dir(), templates
    assert not package.resolve().is_relative_to(ROOT), package
