"""Dropping quarantined mail staff decide is nothing to keep: the entry goes, its bytes
are erased, and a record of who, when and why stays (never the bytes)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import cli, cli_json, complaint, write_config

from inbox_agent.adapters.quarantine_log import DroppedQuarantineFile
from inbox_agent.adapters.sealed import StoreDamaged
from inbox_agent.adapters.tinydb_store import Store
from inbox_agent.services.quarantine import drop_quarantined

MARKER = b"card 4417-9921-XQ"
JUNK = b"\x00\x01 this is not a mail, " + MARKER


def _quarantined_junk(tmp_path: Path) -> tuple[Path, Path, dict]:
    maildir = tmp_path / "maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    (maildir / "new" / "1.mail").write_bytes(complaint("a@example.com", "Payment failed", "Error E1023."))
    (maildir / "new" / "2.mail").write_bytes(JUNK)
    config = write_config(tmp_path, maildir=maildir)
    assert cli(config, "run", "--once").returncode == 0
    (entry,) = cli_json(config, "quarantine")
    assert entry["stage"] == "parse"
    return config, tmp_path / "data", entry


def _files_holding(data_dir: Path, needle: bytes) -> list[Path]:
    return [p for p in data_dir.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_drop_erases_the_bytes_keeps_a_record_and_refuses_a_retry(tmp_path: Path) -> None:
    config, data_dir, entry = _quarantined_junk(tmp_path)
    assert _files_holding(data_dir / "raw", MARKER)  # kept for a retry until now

    no_reason = cli(config, "quarantine", "drop", entry["id"])
    assert no_reason.returncode == 2 and "needs --reason" in no_reason.stderr
    unknown = cli(config, "quarantine", "drop", "0123456789ab", "--reason", "junk")
    assert unknown.returncode == 1 and "no quarantine entry 0123456789ab" in unknown.stdout

    dropped = cli(
        config, "quarantine", "drop", entry["id"], "--reason", "binary junk, not a mail", "--by", "agent.li"
    )
    assert dropped.returncode == 0, dropped.stdout + dropped.stderr
    assert "dropped by agent.li" in dropped.stdout
    assert cli_json(config, "quarantine") == []
    (record,) = cli_json(config, "quarantine", "--dropped")
    assert record["id"] == entry["id"] and record["raw_sha256"] == entry["raw_sha256"]
    assert (record["dropped_by"], record["drop_reason"], record["stage"]) == (
        "agent.li",
        "binary junk, not a mail",
        "parse",
    )
    assert _files_holding(data_dir, MARKER) == []  # nowhere in the data directory, logs included
    assert json.loads(cli(config, "status", "--json").stdout)["quarantined"] == 0
    verified = cli(config, "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr

    retry = cli(config, "quarantine", "retry", entry["id"])
    assert retry.returncode == 1 and "was dropped by agent.li" in retry.stdout
    again = cli(config, "quarantine", "drop", entry["id"], "--reason", "junk")
    assert again.returncode == 0 and "nothing of it is left to erase" in again.stdout
    assert len(cli_json(config, "quarantine", "--dropped")) == 1  # the first record stands

    backup = tmp_path / "backup"
    assert cli(config, "backup", str(backup)).returncode == 0
    assert DroppedQuarantineFile(backup).entries() == [record]
    # The customer's complaint beside it was never touched.
    (case,) = cli_json(config, "cases")
    assert case["customer"] == "a@example.com"


def test_a_drop_cut_off_before_the_erasure_is_finished_by_the_same_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, data_dir, entry = _quarantined_junk(tmp_path)
    log = DroppedQuarantineFile(data_dir)
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)

    def power_cut(self: Store, shas: object) -> int:
        raise OSError(5, "Input/output error")

    with monkeypatch.context() as patch:
        patch.setattr(Store, "delete_blobs", power_cut)
        with pytest.raises(OSError):
            drop_quarantined(Store(data_dir), log, entry["id"], "spam", "agent.li", now)
    assert [r["id"] for r in log.entries()] == [entry["id"]]  # recorded before the entry went
    assert cli_json(config, "quarantine") == []
    assert _files_holding(data_dir / "raw", MARKER)  # the bytes the cut left

    finished = cli(config, "quarantine", "drop", entry["id"], "--reason", "spam")
    assert finished.returncode == 0 and "left-over bytes are erased now" in finished.stdout
    assert _files_holding(data_dir, MARKER) == []


def test_a_record_cut_off_mid_append_is_left_out_and_a_damaged_line_is_named(tmp_path: Path) -> None:
    log = DroppedQuarantineFile(tmp_path)
    log.record({"id": "aaaaaaaaaaaa", "dropped_by": "x"})
    with log.path.open("ab") as handle:
        handle.write(b'{"id": "bbbb')  # no newline: the append never finished
    assert [r["id"] for r in log.entries()] == ["aaaaaaaaaaaa"]
    log.path.write_bytes(b'{"id": "aaaaaaaaaaaa"}\nnot json\n')
    with pytest.raises(StoreDamaged, match="quarantine-dropped.log is damaged: line 2 is not a JSON record"):
        log.entries()
