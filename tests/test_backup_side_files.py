"""A backup carries the files kept beside the store, and `verify` reads them.

Staff accounts, the web audit log, staff corrections and the applied category model
live in the data directory but outside the store's sealed files. A restore that left
them behind would sign every staff member out for good, lose the audit trail and go
back to the shipped model without a word."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import cli, cli_json, complaint, write_config
from webapp import WEB_TEST_SETTINGS, add_staff_cli, app_client, sign_in

from inbox_agent.adapters.model_store import ModelStore
from inbox_agent.config.loader import load_config
from inbox_agent.config.model_file import shipped_model


@pytest.fixture
def desk(tmp_path: Path) -> dict[str, Path | str]:
    maildir = tmp_path / "maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    body = "Please delete every record you hold about me and confirm in writing."
    (maildir / "new" / "1.eml").write_bytes(complaint("ana@customer.example", "my data", body))
    config = write_config(tmp_path, maildir=maildir, overrides={"web": dict(WEB_TEST_SETTINGS)})
    assert cli(config, "run", "--once").returncode == 0
    case_id = cli_json(config, "cases")[0]["case_id"]
    data = tmp_path / "data"
    assert cli(config, "recategorize", case_id, "customer_service", "--by", "li").returncode == 0
    add_staff_cli(config, "bob", "supervisor")
    assert sign_in(app_client(config), "bob").status_code == 303  # one audit line
    models = ModelStore(data)
    models.apply(models.save(replace(shipped_model(), version="20261203T000000Z-backup01")))
    return {"config": config, "data": data, "case": case_id, "backup": tmp_path / "backup"}


def _side_files(data: Path) -> dict[str, bytes]:
    names = ["staff-accounts.json", "web-audit.log", "category-corrections.jsonl"]
    found = {name: (data / name).read_bytes() for name in names}
    found.update({f"models/{p.name}": p.read_bytes() for p in (data / "models").iterdir()})
    return found


def test_restore_brings_back_staff_accounts_audit_corrections_and_the_applied_model(
    desk: dict, tmp_path: Path
) -> None:
    config, data = desk["config"], desk["data"]
    before = _side_files(data)
    made = cli(config, "backup", str(desk["backup"]))
    assert made.returncode == 0 and "clean" in made.stdout, made.stdout + made.stderr
    assert _side_files(desk["backup"]) == before

    (data / "cases" / "000000.json").write_bytes(b"{}")  # damage: the way to restore
    restored = cli(config, "restore", str(desk["backup"]))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert _side_files(data) == before
    assert cli(config, "verify").returncode == 0
    assert sign_in(app_client(config), "bob").status_code == 303  # still an account
    signins = [json.loads(line) for line in (data / "web-audit.log").read_text().splitlines()]
    assert [entry["outcome"] for entry in signins] == ["ok", "ok"]  # the trail goes on
    assert load_config(config).rules.model.version == "20261203T000000Z-backup01"


def test_a_backup_made_before_side_files_were_carried_keeps_the_replaced_ones(desk: dict) -> None:
    config, data, old_backup = desk["config"], desk["data"], desk["backup"]
    assert cli(config, "backup", str(old_backup)).returncode == 0
    before = _side_files(data)
    for name in ("staff-accounts.json", "web-audit.log", "category-corrections.jsonl"):
        (old_backup / name).unlink()  # what an earlier version's backup held: none of them
    for model in (old_backup / "models").iterdir():
        model.unlink()
    (old_backup / "models").rmdir()
    restored = cli(config, "restore", str(old_backup))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "note: staff-accounts.json: not in the backup" in restored.stdout
    assert "note: models: not in the backup" in restored.stdout
    assert _side_files(data) == before
    assert sign_in(app_client(config), "bob").status_code == 303


def test_a_line_being_appended_during_the_backup_is_left_out_not_copied_half(desk: dict) -> None:
    audit = desk["data"] / "web-audit.log"
    whole = audit.read_bytes()
    with audit.open("ab") as handle:
        handle.write(b'{"at": "2026-12-03T10:00:00Z", "event": "sign')  # a write under way
    assert cli(desk["config"], "backup", str(desk["backup"])).returncode == 0
    assert (desk["backup"] / "web-audit.log").read_bytes() == whole


def test_verify_leaves_a_crash_cut_last_line_alone(desk: dict) -> None:
    with (desk["data"] / "web-audit.log").open("ab") as handle:
        handle.write(b'{"at": "2026-12-03T10:00:00Z", "ev')  # the write a crash cut short
    checked = cli(desk["config"], "verify")
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize(
    ("name", "damage", "named"),
    [
        (
            "staff-accounts.json",
            b'{"bob": {"name": "bob"',
            "staff-accounts.json is damaged: not readable JSON",
        ),
        ("staff-accounts.json", b'{"bob": "x"}', "the account 'bob' is not a record"),
        ("web-audit.log", b'{"ok": 1}\nnot json\n', "web-audit.log: 1 line is not a JSON record"),
        ("category-corrections.jsonl", b"[1, 2]\n", "category-corrections.jsonl: 1 line is not a JSON"),
        ("models/current.json", b'{"current": "model-gone.json"}', "model-gone.json"),
        ("quarantine-dropped.log", b'{"id": "aaaaaaaaaaaa"}\n\xff\xfe\n', "line 2 is not a JSON record"),
    ],
)
def test_verify_names_a_damaged_side_file(desk: dict, name: str, damage: bytes, named: str) -> None:
    (desk["data"] / name).write_bytes(damage)
    checked = cli(desk["config"], "verify")
    assert checked.returncode != 0, checked.stdout
    assert named in checked.stdout + checked.stderr
    assert "Traceback" not in checked.stderr


def test_a_damaged_staff_file_is_named_by_the_cli_and_the_sign_in_page(desk: dict) -> None:
    accounts = desk["data"] / "staff-accounts.json"
    accounts.write_bytes(accounts.read_bytes()[:40])
    listed = cli(desk["config"], "staff", "list")
    assert listed.returncode == 4 and str(accounts) in listed.stderr
    assert "Traceback" not in listed.stderr
    page = sign_in(app_client(desk["config"]), "bob")
    assert page.status_code == 503 and "staff-accounts.json is damaged" in page.text
