"""Raw mail and attachments of long-resolved cases are deleted; everything else stays."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from helpers import cli, cli_json, complaint, write_config

from inbox_agent.adapters.tinydb_store import Store
from inbox_agent.config.loader import load_config
from inbox_agent.domain.clock import parse_iso
from inbox_agent.services.retention import purge


def test_resolved_cases_lose_raw_mail_after_the_retention_period(tmp_path: Path) -> None:
    maildir = tmp_path / "maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "new" / "1.mail").write_bytes(
        complaint("old@example.com", "Account locked", "Locked since 2026-11-01.")
    )
    (maildir / "new" / "2.mail").write_bytes(complaint("open@example.com", "Payment failed", "Error E1023."))
    config_path = write_config(tmp_path, maildir=maildir, overrides={"storage": {"retention_days": 30}})
    assert cli(config_path, "run", "--once").returncode == 0
    cases = {c["customer"]: c for c in cli_json(config_path, "cases")}
    old_id = cases["old@example.com"]["case_id"]
    assert cli(config_path, "resolve", old_id, "unlocked").returncode == 0

    config = load_config(config_path)
    store = Store(config.storage.data_dir)
    old_raw = [m.raw_sha256 for m in store.case_messages(old_id)]
    open_raw = [m.raw_sha256 for m in store.case_messages(cases["open@example.com"]["case_id"])]
    resolved_at = parse_iso(store.get_case(old_id).updated_at)
    old_bytes = [store.get_blob(sha) for sha in old_raw]
    assert len(old_bytes) == 2 and all(old_bytes)  # the complaint and its acknowledgement

    assert purge(store, resolved_at + timedelta(days=29), 30).cases == 0
    report = purge(store, resolved_at + timedelta(days=31), 30)
    assert report.cases == 1
    assert report.blobs >= 1
    kept = store.stored_blobs()
    assert kept.isdisjoint(old_raw) and kept.issuperset(open_raw)
    assert all(store.get_blob(sha) for sha in open_raw)
    # Erased, not hidden: the old customer's mail and our acknowledgement are in no
    # file, though they shared a pack with the open case's mail.
    stored = b"".join(path.read_bytes() for path in store.raw_dir.rglob("*") if path.is_file())
    assert not any(data in stored for data in old_bytes)
    assert all(store.get_blob(sha) in stored for sha in open_raw)
    shown = cli_json(config_path, "show", old_id)
    assert "raw_purged" in shown["flags"]
    assert shown["messages"]  # the record of what happened stays
    assert purge(store, resolved_at + timedelta(days=40), 30).cases == 0  # once only
