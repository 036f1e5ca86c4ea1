"""A data directory this user may not read: every command says "permission denied"
with the path and exits 6 (README, exit codes), and `status` shows its storage line.

Before: every command crashed with a traceback (exit 1) while loading the config,
at ``applied_model``'s ``pointer.is_file()`` on ``data/models/current.json``; an
applied model the user may not read was an "invalid configuration" (exit 3)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import ROOT, cli, complaint, write_config

from inbox_agent.adapters.model_store import ModelStore
from inbox_agent.config.model_file import shipped_model

AS_ROOT = os.geteuid() == 0
if AS_ROOT and not shutil.which("setpriv"):
    pytest.skip("as root, setpriv is needed to give up reading past file modes", allow_module_level=True)
# Root reads past file modes through these two capabilities; without them the modes hold.
# (Another user cannot be used: CI's checkout lives in a 0700 folder only root may read.)
NO_OVERRIDE = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


@pytest.fixture
def home() -> Iterator[Path]:
    """A folder another user can reach (pytest's tmp_path is 0700), with a filed case."""
    folder = Path(tempfile.mkdtemp(prefix="store-fixes-", dir="/tmp"))
    folder.chmod(0o755)
    maildir = folder / "maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    body = "My payment of 500.00 CNY failed on 2026-11-19."
    (maildir / "new" / "1.eml").write_bytes(complaint("ana@customer.example", "payment failed", body))
    config = write_config(folder, maildir=maildir)
    config.chmod(0o644)
    assert cli(config, "run", "--once").returncode == 0
    try:
        yield folder
    finally:
        for path in [folder, *folder.rglob("*")]:
            path.chmod(0o700 if path.is_dir() else 0o600)  # readable again, to remove it
        shutil.rmtree(folder)


def _denied(path: Path) -> None:
    """``path`` no longer readable by the user the commands run as."""
    path.chmod(0)


def _run(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "inbox_agent", "--config", str(folder / "config.toml"), *args]
    if AS_ROOT:
        command = [*NO_OVERRIDE, *command]
    env = {**os.environ, "HOME": "/tmp", "COLUMNS": "200"}
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)


@pytest.mark.parametrize("command", [["status"], ["cases"], ["verify"], ["note", "WLT-2026-000001", "hi"]])
def test_an_unreadable_data_directory_is_permission_denied_exit_6(home: Path, command: list[str]) -> None:
    data = home / "data"  # 0700, and (as root) owned by root
    _denied(data)
    result = _run(home, *command)
    assert result.returncode == 6, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "error: permission denied:" in result.stderr and str(data) in result.stderr
    if command == ["status"]:
        assert f"storage: permission denied: {data} is not writable" in result.stderr


def test_an_applied_model_the_user_may_not_read_is_a_permission_error_not_a_bad_model(home: Path) -> None:
    data = home / "data"
    models = ModelStore(data)
    models.apply(models.save(replace(shipped_model(), version="20261203T000000Z-perm0001")))
    for path in [data, *data.rglob("*")]:  # the store readable by all; only the pointer is not
        path.chmod(0o755 if path.is_dir() else 0o644)
    pointer = data / "models" / "current.json"
    pointer.chmod(0o600)
    _denied(pointer)
    status = _run(home, "status")  # never uses the model: works
    assert status.returncode == 0, status.stdout + status.stderr
    assert "Traceback" not in status.stderr
    mail = home / "one.eml"
    mail.write_bytes(complaint("bo@customer.example", "card", "My card was charged twice."))
    mail.chmod(0o644)
    for command in (["classify", str(mail)], ["verify"]):
        result = _run(home, *command)
        assert result.returncode == 6, result.stdout + result.stderr
        assert f"error: permission denied: Permission denied ({pointer})" in result.stderr
        assert "invalid configuration" not in result.stderr


def test_report_blames_the_data_directory_not_the_page_when_the_store_cannot_be_written(home: Path) -> None:
    """Before: exit 1 "cannot write PAGE: Read-only file system" for the DATA directory."""
    data = home / "data"
    for path in [data, *data.rglob("*")]:  # readable, not writable, by the user (the owner too)
        path.chmod(0o555 if path.is_dir() else 0o444)
    pages = home / "pages"
    pages.mkdir(mode=0o777)
    pages.chmod(0o777)
    result = _run(home, "report", "--html", str(pages / "staff.html"))
    assert result.returncode == 6, result.stdout + result.stderr
    assert "error: permission denied:" in result.stderr and str(data) in result.stderr
    assert "cannot write" not in result.stderr and "Traceback" not in result.stderr
    assert not (pages / "staff.html").exists()


def test_report_still_names_the_page_it_cannot_write(home: Path) -> None:
    (home / "pages").write_text("a file where a folder should be")
    result = cli(home / "config.toml", "report", "--html", str(home / "pages" / "staff.html"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"cannot write {home / 'pages' / 'staff.html'}: Not a directory" in result.stderr
