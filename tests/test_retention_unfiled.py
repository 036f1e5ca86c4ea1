"""Retention erases the raw mail and attachments of mail filed under no case
(auto-replies, bounces, list mail) once it was received longer ago than
`retention_days`; a file a case in its period or newer such mail still uses stays, and
`verify` and `backup` stay clean."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from fakes import FakeAcceptedLog, FakeMailbox, FakeTransport
from helpers import cli, cli_json, write_config

from inbox_agent.adapters.store_verify import verify
from inbox_agent.adapters.tinydb_store import Store
from inbox_agent.config.loader import load_config
from inbox_agent.domain.clock import FixedClock, iso
from inbox_agent.domain.model import MessageRecord
from inbox_agent.mail.render import TemplateSet
from inbox_agent.policies.retention import PURGED_FLAG, unfiled_due_for_purge
from inbox_agent.policies.staff import StaffAction
from inbox_agent.services.delivery import Delivery
from inbox_agent.services.intake import Intake
from inbox_agent.services.retention import purge
from inbox_agent.services.staff_actions import act_on_case
from inbox_agent.services.unit_of_work import UnitOfWork

LOGO = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8  # the company logo in everyone's signature
FLYER = b"%PDF-1.4 spring offers " + bytes(range(200))
SIGNATURE = b"\x89PNG\r\n\x1a\n" + b"bob's own signature" * 50


def _mail(sender: str, subject: str, headers: dict[str, str], files: dict[str, bytes]) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "complaints@wallet.example", subject
    msg["Message-ID"] = f"<{subject.replace(' ', '.')}.{sender}>"
    for name, value in headers.items():
        msg[name] = value
    msg.set_content(f"{subject}: my payment failed with error E1023.")
    for name, data in files.items():
        kind = ("application", "pdf") if name.endswith(".pdf") else ("image", "png")
        msg.add_attachment(data, maintype=kind[0], subtype=kind[1], filename=name)
    return msg.as_bytes()


OUT_OF_OFFICE = {"Auto-Submitted": "auto-replied"}
LIST_MAIL = {"List-Id": "<offers.shop.example>", "Precedence": "list"}


def _deliver(maildir: Path, name: str, raw: bytes, days_ago: int) -> None:
    path = maildir / "new" / name
    path.write_bytes(raw)
    received = (datetime.now(UTC) - timedelta(days=days_ago)).timestamp()
    os.utime(path, (received, received))  # a Maildir mail's receipt time is its file's


def _stored_bytes(store: Store) -> bytes:
    return b"".join(path.read_bytes() for path in store.raw_dir.rglob("*") if path.is_file())


def _attachment_files(store: Store) -> dict[bytes, bool]:
    """Each attachment's bytes: whether a file holds them."""
    held = {path.read_bytes() for path in store.attachments_dir.rglob("*") if path.is_file()}
    return {data: data in held for data in (LOGO, FLYER, SIGNATURE)}


def test_old_mail_of_no_case_loses_its_files_and_verify_and_backup_stay_clean(tmp_path: Path) -> None:
    maildir = tmp_path / "maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    old_ooo = _mail(
        "bob@acme.example", "Out of office", OUT_OF_OFFICE, {"logo.png": LOGO, "sig.png": SIGNATURE}
    )
    old_list = _mail("news@shop.example", "Spring offers", LIST_MAIL, {"offers.pdf": FLYER})
    new_ooo = _mail("carol@acme.example", "Away today", OUT_OF_OFFICE, {"logo.png": LOGO})
    complaint = _mail("alice@acme.example", "Payment failed", {}, {"offers.pdf": FLYER})
    _deliver(maildir, "1.mail", old_ooo, days_ago=60)
    _deliver(maildir, "2.mail", old_list, days_ago=40)
    _deliver(maildir, "3.mail", new_ooo, days_ago=2)
    _deliver(maildir, "4.mail", complaint, days_ago=1)
    config = write_config(tmp_path, maildir=maildir, overrides={"storage": {"retention_days": 30}})

    run = cli(config, "run", "--once")  # files all four, then applies retention
    assert run.returncode == 0, run.stdout + run.stderr
    store = Store(load_config(config).storage.data_dir, read_only=True)
    stored = _stored_bytes(store)
    assert old_ooo not in stored and old_list not in stored  # before: kept for ever
    assert new_ooo in stored and complaint in stored
    # The signature was the old out-of-office's alone; the logo is also carol's (newer),
    # the flyer also in alice's open case.
    assert _attachment_files(store) == {LOGO: True, FLYER: True, SIGNATURE: False}
    flags = {message.sender: message.flags for message in store.unfiled_messages()}
    assert flags == {
        "bob@acme.example": (PURGED_FLAG,),
        "news@shop.example": (PURGED_FLAG,),
        "carol@acme.example": (),
    }
    assert cli_json(config, "cases")[0]["customer"] == "alice@acme.example"  # the case untouched

    checked = cli(config, "verify")
    assert checked.returncode == 0, checked.stdout  # the erased files are not missing: purged
    copy = cli(config, "backup", str(tmp_path / "backup"))
    assert copy.returncode == 0, copy.stdout + copy.stderr
    again = cli(config, "run", "--once")
    assert again.returncode == 0, again.stdout + again.stderr
    assert cli(config, "verify").returncode == 0

    # Carol's out-of-office ages too: then the logo goes, and the flyer stays with alice.
    writable = Store(load_config(config).storage.data_dir)
    later = purge(writable, datetime.now(UTC) + timedelta(days=29), 30)
    assert (later.unfiled, later.cases) == (1, 0)
    assert _attachment_files(writable) == {LOGO: False, FLYER: True, SIGNATURE: False}
    assert new_ooo not in _stored_bytes(writable)
    assert verify(writable.root).clean
    assert purge(writable, datetime.now(UTC) + timedelta(days=40), 30).unfiled == 0  # once only


def test_a_file_kept_for_newer_mail_of_no_case_goes_with_it_after_its_case_was_purged(tmp_path: Path) -> None:
    """Alice's case is purged while bob's out-of-office, sharing her logo, is still young:
    the logo stays. When bob's mail ages, the logo goes, though alice's old case still
    lists it (before: a purged case kept such a file for ever)."""
    config = load_config(write_config(tmp_path, overrides={"storage": {"retention_days": 30}}))
    store = Store(config.storage.data_dir)
    start = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)

    def send(at: datetime) -> None:
        Delivery(config, store, FakeTransport(), FixedClock(at), FakeAcceptedLog()).send_due()  # type: ignore[arg-type]

    box = FakeMailbox()  # one folder: each mail gets the next UID

    def intake(raw: bytes, at: datetime) -> None:
        box.deliver(raw)
        Intake(config, store, box, TemplateSet(), FixedClock(at)).poll()  # type: ignore[arg-type]
        send(at)

    intake(_mail("alice@acme.example", "Payment failed", {}, {"logo.png": LOGO}), start)
    (case,) = store.iter_cases()
    resolve = StaffAction(kind="resolve", actor="agent.li", text="refunded")
    act_on_case(store, config, TemplateSet(), case.case_id, resolve, start + timedelta(days=1))
    send(start + timedelta(days=1))  # the resolution goes out
    intake(
        _mail("bob@acme.example", "Out of office", OUT_OF_OFFICE, {"logo.png": LOGO}),
        start + timedelta(days=20),
    )
    assert not store.outbox_entries() and len(store.unfiled_messages()) == 1

    first = purge(store, start + timedelta(days=40), 30)
    assert (first.cases, first.unfiled) == (1, 0)
    assert _attachment_files(store)[LOGO] and verify(store.root).clean

    second = purge(store, start + timedelta(days=60), 30)
    assert (second.cases, second.unfiled) == (0, 1)
    assert not _attachment_files(store)[LOGO]
    assert verify(store.root).clean


def test_verify_expects_no_files_of_mail_of_no_case_marked_purged_and_still_those_of_the_rest(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "data")
    record = MessageRecord(
        key="<bounce@mx.example>|" + "a" * 64,
        case_id="",
        direction="in",
        message_id="<bounce@mx.example>",
        raw_sha256="a" * 64,  # no such blob: erased
        sender="mailer-daemon@mx.example",
        subject="Undelivered Mail Returned to Sender",
        date="2026-10-01T09:00:00+00:00",
        received_at="2026-10-01T09:00:00+00:00",
        source="maildir:new/1.mail",
        text="",
        flags=(PURGED_FLAG,),
    )
    with UnitOfWork(store) as uow:
        uow.add_message(record)
        uow.commit()
    assert verify(store.root).problems == []
    with UnitOfWork(store) as uow:
        uow.add_message(replace(record, key="<other@mx.example>|" + "a" * 64, flags=()))
        uow.commit()
    (problem,) = verify(store.root).problems
    assert "raw mail " + "a" * 64 + " missing" in problem


def test_which_mail_of_no_case_is_due() -> None:
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def record(
        key: str, received: str, date: str = "", case_id: str = "", flags: tuple[str, ...] = ()
    ) -> MessageRecord:
        return MessageRecord(
            key,
            case_id,
            "in",
            f"<{key}>",
            key * 64,
            "x@example.com",
            "s",
            date,
            received,
            "cli",
            "",
            flags=flags,
        )

    old = iso(now - timedelta(days=31))
    messages = [
        record("a", old),
        record("b", iso(now - timedelta(days=29))),  # young
        record("c", "", date=old),  # no receipt time: its Date header
        record("d", ""),  # no time at all: age unknown, kept
        record("e", old, case_id="WLT-2026-000001"),  # a case's: the case decides
        record("f", old, flags=(PURGED_FLAG,)),  # erased already
    ]
    assert [m.key for m in unfiled_due_for_purge(messages, now, 30)] == ["a", "c"]
    assert unfiled_due_for_purge(messages, now, 0) == []  # 0 = keep for ever
