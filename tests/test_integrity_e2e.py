"""Integrity under faults against the real servers (Dovecot in, aiosmtpd out).

A damaged store file between runs: the daemon and every command refuse, naming the
file, and nothing is overwritten; a restore from `backup` brings every case back.
A full disk at each write point of a cycle: after space returns, every complaint is
acknowledged exactly once, and the output says "disk full". A read-only data
directory: `status`, `cases`, `show` and `verify` work. Absurd Date headers: a case
and an acknowledgement, the defect recorded.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import cli, cli_json, complaint, write_config
from test_integrity_store import DAMAGE

pytestmark = pytest.mark.dovecot


def _complaints(count: int, prefix: str) -> list[bytes]:
    return [
        complaint(
            f"{prefix}{i}@example.com",
            "Money not received",
            f"My transfer of {300 + i}元 on 2026-11-18 has not arrived.",
            message_id=f"<{prefix}{i}@customer.example>",
        )
        for i in range(count)
    ]


def _acks_by_recipient(smtp_server) -> Counter[str]:  # type: ignore[no-untyped-def]
    return Counter(rcpt for mail in smtp_server.received for rcpt in mail.rcpt_tos)


def _snapshot(root: Path) -> dict[str, bytes]:
    skip = {"daemon.lock", "write.lock"}
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name not in skip
    }


# ---------------------------------------------------------------- damaged files between runs

DAMAGED_FILES = {"state": "state.json", "shard": "cases/000000.json", "unfiled": "cases/unfiled-*.json"}


def _auto_reply() -> bytes:
    """Stored without a case (an auto-reply): it lands in an unfiled-YYYY-MM shard."""
    return complaint(
        "away@example.com", "Out of office", "I am away.", headers={"Auto-Submitted": "auto-replied"}
    )


@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize("kind", DAMAGED_FILES)
def test_damaged_file_between_runs_stops_the_daemon_and_the_cli_naming_it(
    dovecot, smtp_server, tmp_path: Path, kind: str, damage: str
) -> None:
    config = write_config(tmp_path, dovecot=dovecot, smtp=smtp_server)
    dovecot.append_many([*_complaints(5, "a"), _auto_reply()])
    assert cli(config, "run", "--once").returncode == 0
    data = tmp_path / "data"
    (target,) = data.glob(DAMAGED_FILES[kind])
    target.write_bytes(DAMAGE[damage](target.read_bytes()))
    dovecot.append_many(_complaints(2, "b"))  # new mail must not be filed over the damage
    before = _snapshot(data)
    for command in (("run", "--once"), ("status",), ("cases",), ("verify",)):
        result = cli(config, *command)
        assert result.returncode == 4, (command, result.stdout, result.stderr)
        assert str(target) in result.stdout + result.stderr, (command, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
    assert _snapshot(data) == before
    assert len(smtp_server.received) == 5  # nobody got mail from a damaged store


def test_every_command_refuses_a_damaged_shard_and_restore_brings_every_case_back(
    dovecot, smtp_server, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path, dovecot=dovecot, smtp=smtp_server, overrides={"storage": {"shard_size": 10}}
    )
    dovecot.append_many(_complaints(12, "a"))  # two shards
    assert cli(config, "run", "--once").returncode == 0
    cases = {case["case_id"]: case["customer"] for case in cli_json(config, "cases")}
    backup = cli(config, "backup", str(tmp_path / "backup"))
    assert backup.returncode == 0, backup.stdout + backup.stderr
    assert "clean" in backup.stdout
    shard = tmp_path / "data" / "cases" / "000000.json"
    shard.write_bytes(b"{}")
    first = sorted(cases)[0]
    for command in (
        ("run", "--once"),
        ("status",),
        ("cases",),
        ("show", first),
        ("verify",),
        ("quarantine",),
        ("note", first, "checking"),
        ("escalate",),
        ("report", "--html", str(tmp_path / "page.html")),
    ):
        result = cli(config, *command)
        assert result.returncode == 4, (command, result.stdout, result.stderr)
        assert str(shard) in result.stdout + result.stderr, command

    restored = cli(config, "restore", str(tmp_path / "backup"))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    dovecot.append_many(_complaints(2, "b"))
    assert cli(config, "run", "--once").returncode == 0
    after = {case["case_id"]: case["customer"] for case in cli_json(config, "cases")}
    assert {k: v for k, v in after.items() if k in cases} == cases  # nothing lost or overwritten
    assert len(after) == 14 and len(set(after.values())) == 14
    assert cli(config, "verify").returncode == 0


# ---------------------------------------------------------------- disk full

# The n-th write at each point of a cycle: the raw mail, the batch's journal and
# files, the status records, the accepted-mail log's room, the send results' commit.
# Only a commit that touches a shard writes a journal (three in this cycle: the batch
# and two SMTP batches' results); a state.json-only commit is a store-file write.
DISK_FULL_AT = [
    "blob_write:1",
    "blob_write:4",
    "journal_write:1",
    "journal_write:2",
    "journal_write:3",
    "store_write:1",
    "store_write:2",
    "store_write:4",
    "store_write:6",
    "sent_log_reserve:1",
]


@pytest.mark.parametrize("point", DISK_FULL_AT)
def test_disk_full_at_each_write_point_then_each_mail_acknowledged_exactly_once(
    dovecot, smtp_server, tmp_path: Path, point: str
) -> None:
    config = write_config(tmp_path, dovecot=dovecot, smtp=smtp_server, overrides={"smtp": {"batch_size": 2}})
    dovecot.append_many(_complaints(4, "c"))
    full = cli(config, "run", "--once", env={"INBOX_AGENT_FAULT_AT": point})
    output = full.stdout + full.stderr
    assert full.returncode == 5, output
    assert "disk full" in output and "Traceback" not in output
    for _ in range(2):  # space is back
        again = cli(config, "run", "--once")
        assert again.returncode == 0, again.stdout + again.stderr
    assert _acks_by_recipient(smtp_server) == {f"c{i}@example.com": 1 for i in range(4)}
    assert len(cli_json(config, "cases")) == 4
    assert cli(config, "verify").returncode == 0


def test_accepted_mail_log_failing_under_the_running_daemon_never_sends_twice(
    dovecot, smtp_server, tmp_path: Path
) -> None:
    """The log's line cannot be written after the 250 (an I/O error, then the disk
    fills): the daemon holds the fact in memory, stops sending, and records it once
    the disk is back; nobody gets a second copy."""
    config = write_config(tmp_path, dovecot=dovecot, smtp=smtp_server, overrides={"smtp": {"batch_size": 2}})
    dovecot.append_many(_complaints(4, "d"))
    space_back = tmp_path / "space-back"
    env = {
        **os.environ,
        "INBOX_AGENT_FAULT_AT": "sent_log_append",
        "INBOX_AGENT_FAULT_ERRNO": "ENOSPC",
        "INBOX_AGENT_FAULT_UNTIL": str(space_back),
    }
    daemon = subprocess.Popen(
        [sys.executable, "-m", "inbox_agent", "--config", str(config), "run"],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        smtp_server.wait_for(1, timeout=60)
        time.sleep(4)  # several poll cycles with the disk still full
        while_full = _acks_by_recipient(smtp_server)
        # Only the batch in flight when the disk filled went out, each mail once; then
        # sending stopped until the accepted mails are recorded.
        assert set(while_full.values()) == {1} and len(while_full) <= 2, while_full
        space_back.touch()
        smtp_server.wait_for(4, timeout=60)
        time.sleep(3)
    finally:
        daemon.terminate()
        output = daemon.communicate(timeout=30)[0].decode()
        print(output)
    assert _acks_by_recipient(smtp_server) == {f"d{i}@example.com": 1 for i in range(4)}, output
    assert "disk full" in output
    assert cli_json(config, "status")["outbox_pending"] == 0


# ---------------------------------------------------------------- a read-only data directory


@contextlib.contextmanager
def _read_only_view(tmp_path: Path) -> Iterator[Path]:
    """The data directory mounted read-only (root ignores file modes), or chmod'ed."""
    view = tmp_path / "ro-data"
    view.mkdir()
    if os.geteuid() == 0:
        mounted = subprocess.run(["mount", "--bind", "-o", "ro", str(tmp_path / "data"), str(view)])
        if mounted.returncode != 0:
            pytest.fail("a read-only bind mount is needed as root (mount --bind -o ro)")
        subprocess.run(["mount", "-o", "remount,bind,ro", str(view)], check=True)
        try:
            yield view
        finally:
            subprocess.run(["umount", str(view)], check=False)
        return
    view.rmdir()
    shutil.copytree(tmp_path / "data", view)
    for path in [view, *view.rglob("*")]:
        path.chmod(0o500 if path.is_dir() else 0o400)
    yield view


def test_read_only_commands_work_on_a_read_only_data_directory(dovecot, smtp_server, tmp_path: Path) -> None:
    config = write_config(tmp_path, dovecot=dovecot, smtp=smtp_server)
    dovecot.append_many(_complaints(2, "e"))
    assert cli(config, "run", "--once").returncode == 0
    (tmp_path / "ro").mkdir()
    with _read_only_view(tmp_path) as view:
        ro_config = write_config(
            tmp_path / "ro", dovecot=dovecot, smtp=smtp_server, overrides={"storage": {"data_dir": str(view)}}
        )
        status = cli(ro_config, "status", "--json")
        assert status.returncode == 0, status.stderr
        assert "Traceback" not in status.stderr
        assert "permission denied" in status.stdout  # the storage line says why nothing can be written
        (case, _other) = cli_json(ro_config, "cases")
        assert cli(ro_config, "show", case["case_id"]).returncode == 0
        assert cli(ro_config, "verify").returncode == 0
        checked = cli(ro_config, "check")  # `check` fails: the daemon could store nothing there
        assert checked.returncode == 1, checked.stdout
        assert "storage: permission denied" in " ".join(checked.stdout.split())
        run = cli(ro_config, "run", "--once")
        assert run.returncode == 6, run.stdout + run.stderr
        assert "permission denied" in run.stdout + run.stderr and "Traceback" not in run.stderr


# ---------------------------------------------------------------- absurd dates


@pytest.mark.parametrize(
    "date_header",
    [
        "Fri, 31 Dec 9999 23:59:59 +0000",
        "Mon, 01 Jan 0001 00:00:00 +0000",
        "Mon, 01 Jan 0001 00:00:00 -2359",
        "Sat, 20 Nov 2026 09:30:00 -9999",
        "yesterday-ish, not a date",
    ],
)
def test_absurd_date_is_a_defect_and_the_complaint_is_filed_and_acknowledged(
    dovecot, smtp_server, tmp_path: Path, date_header: str
) -> None:
    config = write_config(tmp_path, dovecot=dovecot, smtp=smtp_server)
    raw = complaint("f@example.com", "Charged twice", "I was charged twice yesterday, 200 yuan.")
    # Byte for byte: the email package would rewrite year 0001 as 2001.
    raw = re.sub(rb"(?m)^Date: .*$", b"Date: " + date_header.encode(), raw, count=1)
    assert date_header.encode() in raw
    mail = tmp_path / "mail.eml"
    mail.write_bytes(raw)
    classify = cli(config, "classify", "--json", str(mail))
    assert classify.returncode == 0 and "Traceback" not in classify.stderr, classify.stdout + classify.stderr
    dovecot.append(raw)
    assert cli(config, "run", "--once").returncode == 0
    (case,) = cli_json(config, "cases")
    shown = cli_json(config, "show", case["case_id"])
    (incoming,) = [m for m in shown["messages"] if m["direction"] == "in"]
    assert any("Date" in defect for defect in incoming["defects"]), incoming["defects"]
    assert _acks_by_recipient(smtp_server) == {"f@example.com": 1}
    assert cli_json(config, "quarantine") == []
    assert case["created_at"][:4] not in ("0001", "9999")  # the clock started at receipt
