"""`restore` never gives up the live data for a path that is no backup, and `verify`
never calls a data directory that is not there "clean".

Before: `restore` of a missing path moved the data directory aside and left none
(exit 1 "I/O error"); of an empty folder it left an empty store (exit 0 "restored"),
`verify` then said clean and the next mail got case number WLT-2026-000001 again."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import cli, cli_json, complaint, write_config

from inbox_agent.adapters import store_backup
from inbox_agent.adapters.store_backup import backup, restore
from inbox_agent.adapters.tinydb_store import Store


@pytest.fixture
def filed(tmp_path: Path) -> Path:
    """A config whose data directory holds one case, WLT-2026-000001."""
    maildir = tmp_path / "maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    body = "My payment of 500.00 CNY failed on 2026-11-19."
    (maildir / "new" / "1.eml").write_bytes(complaint("ana@customer.example", "payment failed", body))
    config = write_config(tmp_path, maildir=maildir)
    assert cli(config, "run", "--once").returncode == 0
    return config


def _live_untouched(config: Path) -> None:
    root = config.parent
    assert sorted(p.name for p in root.iterdir() if p.name.startswith("data")) == ["data"]
    assert [case["case_id"] for case in cli_json(config, "cases")] == ["WLT-2026-000001"]


@pytest.mark.parametrize("kind", ["missing", "empty folder", "a file", "a folder of other files"])
def test_restore_refuses_a_source_that_is_no_backup_and_touches_nothing(
    filed: Path, tmp_path: Path, kind: str
) -> None:
    source = tmp_path / "not-a-backup"
    if kind == "empty folder":
        source.mkdir()
    elif kind == "a file":
        source.write_text("hello")
    elif kind == "a folder of other files":
        source.mkdir()
        (source / "notes.txt").write_text("hello")
    result = cli(filed, "restore", str(source))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "not restored:" in result.stderr and str(source) in result.stderr
    reason = {"missing": "does not exist", "a file": "is not a folder"}.get(kind, "holds no state.json")
    assert reason in result.stderr
    assert "restored" not in result.stdout
    _live_untouched(filed)
    assert cli(filed, "verify").returncode == 0


def test_restore_refuses_the_data_directory_itself(filed: Path) -> None:
    data = filed.parent / "data"
    result = cli(filed, "restore", str(data))
    assert result.returncode == 2 and "is the data directory itself" in result.stderr
    _live_untouched(filed)


def test_a_backup_without_its_state_file_is_refused_as_damaged(filed: Path, tmp_path: Path) -> None:
    assert cli(filed, "backup", str(tmp_path / "backup")).returncode == 0
    (tmp_path / "backup" / "state.json").unlink()
    result = cli(filed, "restore", str(tmp_path / "backup"))
    assert result.returncode == 4, result.stdout + result.stderr
    assert "state.json" in result.stdout and "not restored" in result.stdout
    _live_untouched(filed)


def test_a_restore_cut_off_while_copying_leaves_the_live_data_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The new data directory is built whole before the live one is moved aside."""
    root = tmp_path / "data"
    store = Store(root)
    assert backup(store, tmp_path / "backup").clean
    store.put_blob(b"From: a@example.com\r\n\r\nI was charged twice")

    def files() -> list[str]:  # daemon.lock: taken by restore so no daemon starts meanwhile
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.name != "daemon.lock")

    before = files()
    real_copy = store_backup._copy

    def copy_then_fill_the_disk(source: Path, target: Path, **kw: bool) -> None:
        if source.name == "state.json":
            raise OSError(28, "No space left on device", str(target))
        real_copy(source, target, **kw)

    monkeypatch.setattr(store_backup, "_copy", copy_then_fill_the_disk)
    with pytest.raises(OSError):
        restore(tmp_path / "backup", root)
    assert files() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup", "data"]  # no partial, nothing aside


def test_restore_from_a_real_backup_still_brings_the_cases_back(filed: Path, tmp_path: Path) -> None:
    assert cli(filed, "backup", str(tmp_path / "backup")).returncode == 0
    shutil.rmtree(filed.parent / "data" / "cases")
    result = cli(filed, "restore", str(tmp_path / "backup"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "the replaced data directory was kept as" in result.stdout
    assert [case["case_id"] for case in cli_json(filed, "cases")] == ["WLT-2026-000001"]


def test_verify_does_not_call_a_missing_data_directory_clean(tmp_path: Path) -> None:
    config = write_config(tmp_path, maildir=tmp_path / "maildir")
    result = cli(config, "verify")
    assert result.returncode == 4, result.stdout + result.stderr
    assert "does not exist" in result.stdout and "clean" not in result.stdout
    as_json = cli(config, "verify", "--json")
    assert as_json.returncode == 4 and '"clean": false' in as_json.stdout
    assert not (tmp_path / "data").exists()  # verify writes nothing, creates nothing
