"""Raw mail and attachments of long-resolved cases are deleted; everything else stays."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from helpers import cli, cli_json, complaint, write_config

from inbox_agent.adapters.store_verify import verify
from inbox_agent.adapters.tinydb_store import Store
from inbox_agent.config.loader import load_config
from inbox_agent.domain.clock import parse_iso
from inbox_agent.domain.outbox import FAILED
from inbox_agent.services.retention import purge
from inbox_agent.services.unit_of_work import UnitOfWork


def _two_cases(tmp_path: Path) -> tuple[Path, Store, str, str]:
    """One run over two complaints; the first case resolved (its resolution reply queued)."""
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
    store = Store(load_config(config_path).storage.data_dir)
    return config_path, store, old_id, cases["open@example.com"]["case_id"]


def _all_stored_bytes(store: Store) -> bytes:
    return b"".join(path.read_bytes() for path in store.raw_dir.rglob("*") if path.is_file())


def test_resolved_cases_lose_raw_mail_after_the_retention_period(tmp_path: Path) -> None:
    config_path, store, old_id, open_id = _two_cases(tmp_path)
    resolution = [entry for entry in store.outbox_entries() if entry["case_id"] == old_id]
    assert [entry["kind"] for entry in resolution] == ["resolution"]
    resolved_at = parse_iso(store.get_case(old_id).updated_at)

    # Due, but the resolution reply has not gone out yet: the case waits for it, so
    # the reply's bytes are not left behind in a case marked purged.
    waiting = purge(store, resolved_at + timedelta(days=31), 30)
    assert (waiting.cases, waiting.deferred) == (0, 1)
    assert store.get_blob(resolution[0]["raw_sha256"])

    assert cli(config_path, "run", "--once").returncode == 0  # sends the reply
    assert not store.outbox_entries()
    old_raw = [m.raw_sha256 for m in store.case_messages(old_id)]
    open_raw = [m.raw_sha256 for m in store.case_messages(open_id)]
    assert resolution[0]["raw_sha256"] in old_raw
    last_change = parse_iso(store.get_case(old_id).updated_at)
    old_bytes = [store.get_blob(sha) for sha in old_raw]
    assert len(old_bytes) == 3 and all(old_bytes)  # complaint, acknowledgement, resolution

    assert purge(store, last_change + timedelta(days=29), 30).cases == 0
    report = purge(store, last_change + timedelta(days=31), 30)
    assert (report.cases, report.deferred, report.blobs) == (1, 0, 3)
    kept = store.stored_blobs()
    assert kept.isdisjoint(old_raw) and kept.issuperset(open_raw)
    assert all(store.get_blob(sha) for sha in open_raw)
    # Erased, not hidden: the old customer's mail and our replies are in no
    # file, though they shared a pack with the open case's mail.
    stored = _all_stored_bytes(store)
    assert not any(data in stored for data in old_bytes)
    assert all(store.get_blob(sha) in stored for sha in open_raw)
    shown = cli_json(config_path, "show", old_id)
    assert "raw_purged" in shown["flags"]
    assert shown["messages"]  # the record of what happened stays
    assert purge(store, last_change + timedelta(days=40), 30).cases == 0  # once only


def test_a_reply_the_server_refused_for_good_is_erased_with_its_case(tmp_path: Path) -> None:
    config_path, store, old_id, _open_id = _two_cases(tmp_path)
    (entry,) = [entry for entry in store.outbox_entries() if entry["case_id"] == old_id]
    refused_bytes = store.get_blob(entry["raw_sha256"])
    assert b"old@example.com" in refused_bytes
    with UnitOfWork(store) as uow:  # as delivery records a 5xx: failed, kept for staff to see
        uow.changes.outbox[entry["outbox_id"]] = {**entry, "status": FAILED, "last_error": "550 no such user"}
        uow.commit()
    resolved_at = parse_iso(store.get_case(old_id).updated_at)

    report = purge(store, resolved_at + timedelta(days=31), 30)
    assert (report.cases, report.deferred, report.unsent_dropped) == (1, 0, 1)
    assert not store.outbox_entries()
    assert refused_bytes not in _all_stored_bytes(store)
    shown = cli_json(config_path, "show", old_id)
    purged = [event for event in shown["events"] if event["kind"] == "raw_purged"]
    assert len(purged) == 1 and "never sent" in purged[0]["detail"]
    status = cli_json(config_path, "status")
    assert status["outbox_failed"] == 0


def test_a_purged_case_reopened_and_resolved_again_loses_its_new_mail_too(tmp_path: Path) -> None:
    config_path, store, old_id, _open_id = _two_cases(tmp_path)
    assert cli(config_path, "run", "--once").returncode == 0  # the resolution reply goes out
    first = purge(store, parse_iso(store.get_case(old_id).updated_at) + timedelta(days=31), 30)
    assert first.cases == 1

    # The customer writes again on the same case: it reopens, is answered and resolved.
    again = complaint(
        "old@example.com",
        f"Re: [{old_id}] Account locked",
        "Locked again since this morning, card 6222021234567890123.",
    )
    (tmp_path / "maildir" / "new" / "3.mail").write_bytes(again)
    assert cli(config_path, "run", "--once").returncode == 0
    assert any(m.direction == "in" and store.get_blob(m.raw_sha256) == again for m in _held(store, old_id))
    assert cli(config_path, "resolve", old_id, "unlocked again").returncode == 0
    assert cli(config_path, "run", "--once").returncode == 0
    new_bytes = [store.get_blob(m.raw_sha256) for m in _held(store, old_id)]
    assert len(new_bytes) == 3  # the new mail, its acknowledgement, the second resolution

    assert verify(store.root).problems == []  # the mail the first purge erased is no problem

    resolved_again = parse_iso(store.get_case(old_id).updated_at)
    assert purge(store, resolved_again + timedelta(days=29), 30).cases == 0
    second = purge(store, resolved_again + timedelta(days=31), 30)
    assert (second.cases, second.blobs) == (1, 3)
    stored = _all_stored_bytes(store)
    assert not any(data in stored for data in new_bytes)
    shown = cli_json(config_path, "show", old_id)
    assert shown["flags"].count("raw_purged") == 1
    assert [event["kind"] for event in shown["events"]].count("raw_purged") == 2
    assert purge(store, resolved_again + timedelta(days=40), 30).cases == 0  # nothing left to take


def _held(store: Store, case_id: str) -> list:
    """The case's messages whose raw mail is still stored."""
    return [m for m in store.case_messages(case_id) if m.raw_sha256 in store.held_blobs([m.raw_sha256])]


def test_a_file_that_mail_of_no_case_shares_survives_the_purge_of_a_case(tmp_path: Path) -> None:
    # Files are stored by content: the company logo in Alice's complaint and in her
    # colleague's out-of-office (filed under no case) is one file.
    from email.message import EmailMessage

    logo = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8

    def mail(sender: str, subject: str, extra: dict[str, str]) -> bytes:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = sender, "complaints@wallet.example", subject
        for name, value in extra.items():
            msg[name] = value
        msg.set_content("My payment failed with error E1023.")
        msg.add_attachment(logo, maintype="image", subtype="png", filename="logo.png")
        return msg.as_bytes()

    maildir = tmp_path / "maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "new" / "1.mail").write_bytes(mail("alice@acme.example", "Payment failed", {}))
    out_of_office = mail("bob@acme.example", "Automatic reply", {"Auto-Submitted": "auto-replied"})
    (maildir / "new" / "2.mail").write_bytes(out_of_office)
    config_path = write_config(tmp_path, maildir=maildir, overrides={"storage": {"retention_days": 30}})
    assert cli(config_path, "run", "--once").returncode == 0
    (case,) = cli_json(config_path, "cases")
    assert cli(config_path, "resolve", case["case_id"], "fixed").returncode == 0
    assert cli(config_path, "run", "--once").returncode == 0  # the resolution goes out
    store = Store(load_config(config_path).storage.data_dir)
    resolved_at = parse_iso(store.get_case(case["case_id"]).updated_at)
    assert purge(store, resolved_at + timedelta(days=31), 30).cases == 1
    assert verify(store.root).clean  # before: the shared logo was deleted, verify and backup exit 4
    assert cli(config_path, "verify").returncode == 0


def test_the_daemon_applies_retention_when_it_starts_not_only_a_day_later(tmp_path: Path) -> None:
    from inbox_agent.domain.clock import FixedClock
    from inbox_agent.entrypoints.bootstrap import build_runtime
    from inbox_agent.entrypoints.daemon import Daemon, StopFlag

    config_path, store, old_id, _open_id = _two_cases(tmp_path)
    assert cli(config_path, "run", "--once").returncode == 0  # the resolution goes out
    later = parse_iso(store.get_case(old_id).updated_at) + timedelta(days=31)
    runtime = build_runtime(load_config(config_path), clock=FixedClock(later))
    stop = StopFlag()
    stop.event.set()  # a daemon restarted before its first day is over: it starts, then stops
    try:
        Daemon(runtime, stop, on_report=lambda report: None).run()
    finally:
        runtime.close()
    purged = Store(load_config(config_path).storage.data_dir).get_case(old_id)
    assert "raw_purged" in [event.kind for event in purged.events]  # before: only after 24 h of uptime
