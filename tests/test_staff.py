"""Staff answer, annotate, resolve and reopen cases — by mail or by CLI."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest
from helpers import cli, cli_json, complaint, write_config

from inbox_agent.policies.staff import COMMAND_NOT_FIRST, NOTHING_WRITTEN, parse_staff_mail
from inbox_agent.stages.quoted_reply import written_part

pytestmark = pytest.mark.dovecot

STAFF = "agent.li@staff.wallet.example"
# What our receiving server (authserv-id mx.wallet.example) writes on staff mail it
# authenticated: without it a staff From line proves nothing (tests/test_trust_*.py).
OUR_SERVER = {"trust": {"authserv_id": "mx.wallet.example"}}
STAFF_AUTHENTICATED = {
    "Authentication-Results": "mx.wallet.example; dkim=pass header.d=staff.wallet.example; "
    "dmarc=pass header.from=staff.wallet.example"
}


def _body(raw: bytes) -> str:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    return msg.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "kind", "detail"),
    [
        ("#note called the customer\nleft a voicemail", "note", "called the customer\nleft a voicemail"),
        ("#assign wang.fang\n", "assign", "wang.fang"),
        ("#resolve refunded ¥268.50 today", "resolve", "refunded ¥268.50 today"),
        ("#REOPEN", "reopen", ""),
        ("Dear customer, we refunded you.", "reply", "Dear customer, we refunded you."),
        ("  please #resolve this", "reply", "please #resolve this"),
    ],
)
def test_first_line_commands(text: str, kind: str, detail: str) -> None:
    action = parse_staff_mail(text, STAFF)
    assert action.kind == kind
    assert (action.assignee if kind == "assign" else action.text) == detail


def test_staff_by_mail_reply_resolve_and_customer_reopens(dovecot, smtp_server, tmp_path: Path) -> None:
    config = write_config(tmp_path, dovecot=dovecot, smtp=smtp_server, overrides=OUR_SERVER)
    dovecot.append(
        complaint(
            "amy@example.com",
            "Charged twice",
            "I was charged twice, ¥99.00 each, on 2026-11-18.",
            message_id="<amy-1@example.com>",
        )
    )
    assert cli(config, "run", "--once").returncode == 0
    (ack,) = smtp_server.wait_for(1)
    (case,) = cli_json(config, "cases")
    case_id = case["case_id"]
    ack_id = email.message_from_bytes(ack.raw)["Message-ID"]
    assert cli_json(config, "show", case_id)["awaiting_since"]

    # A stranger tries to close the case with a command: nothing changes for Amy's case.
    dovecot.append(complaint("mallory@example.net", f"Re: [{case_id}] Charged twice", "#resolve done"))
    # Staff answer the customer by replying to the acknowledgement.
    dovecot.append(
        complaint(
            STAFF,
            f"Re: [{case_id}] Charged twice",
            "Hello Amy, we found the duplicate payment and are refunding it.",
            in_reply_to=ack_id,
            message_id="<staff-1@staff.wallet.example>",
            headers=STAFF_AUTHENTICATED,
        )
    )
    smtp_server.clear()
    assert cli(config, "run", "--once").returncode == 0
    received = smtp_server.wait_for(2)
    to_amy = [m for m in received if m.rcpt_tos == ("amy@example.com",)]
    assert len(to_amy) == 1
    assert "we found the duplicate payment" in _body(to_amy[0].raw)
    assert case_id in email.message_from_bytes(to_amy[0].raw)["Subject"]
    shown = cli_json(config, "show", case_id)
    assert shown["status"] == "waiting_customer"
    assert shown["awaiting_since"] == ""  # the staff response stopped the clock
    assert [e["kind"] for e in shown["events"]].count("resolved") == 0

    # #resolve by mail: the customer gets the resolution mail.
    smtp_server.clear()
    dovecot.append(
        complaint(
            STAFF,
            f"Re: [{case_id}] Charged twice",
            "#resolve Refund of ¥99.00 issued.",
            message_id="<staff-2@staff.wallet.example>",
            headers=STAFF_AUTHENTICATED,
        )
    )
    assert cli(config, "run", "--once").returncode == 0
    (resolution,) = smtp_server.wait_for(1)
    assert resolution.rcpt_tos == ("amy@example.com",)
    assert "Refund of ¥99.00 issued." in _body(resolution.raw)
    assert cli_json(config, "show", case_id)["status"] == "resolved"

    # The customer answers the resolution: the case reopens and the clock restarts.
    dovecot.append(
        complaint(
            "amy@example.com",
            f"Re: [{case_id}] Charged twice",
            "The refund never came.",
            message_id="<amy-2@example.com>",
        )
    )
    assert cli(config, "run", "--once").returncode == 0
    shown = cli_json(config, "show", case_id)
    assert shown["status"] in ("waiting_customer", "waiting_staff")
    assert shown["awaiting_since"]
    assert "reopened" in [e["kind"] for e in shown["events"]]


def test_staff_by_cli(tmp_path: Path, smtp_server) -> None:
    maildir = tmp_path / "maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "new" / "1.mail").write_bytes(
        complaint("ben@example.com", "Account locked", "My account is locked since 2026-11-19.")
    )
    config = write_config(tmp_path, smtp=smtp_server, maildir=maildir)
    assert cli(config, "run", "--once").returncode == 0
    (case,) = cli_json(config, "cases")
    case_id = case["case_id"]
    for blank in (" ", "\t", "wang fang; please look"):  # before: recorded, the case looked taken
        assert cli(config, "assign", case_id, blank, "--by", "lead").returncode == 1
    assert cli(config, "assign", case_id, " wang.fang ", "--by", "lead").returncode == 0
    assert cli(config, "note", case_id, "customer", "called", "--by", "lead").returncode == 0
    answer = tmp_path / "answer.txt"
    answer.write_text("We unlocked your account; please set a new password in the app.")
    assert cli(config, "reply", case_id, "--file", str(answer), "--by", "lead").returncode == 0
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("Réponse envoyée".encode("latin-1"))
    refused = cli(config, "reply", case_id, "--file", str(latin1))
    assert refused.returncode == 1 and "is not UTF-8 text" in refused.stdout  # before: a traceback
    both = cli(config, "reply", case_id, "typed", "words", "--file", str(answer))
    assert both.returncode == 2 and "not both" in both.stdout  # before: the typed words were dropped
    assert cli(config, "resolve", case_id, "unlocked", "--by", "lead").returncode == 0
    assert cli(config, "resolve", case_id, "again").returncode == 1  # already resolved
    assert cli(config, "reopen", case_id, "--by", "lead").returncode == 0
    assert cli(config, "note", "WLT-2026-999999", "x").returncode == 1
    shown = cli_json(config, "show", case_id)
    assert shown["assignee"] == "wang.fang"
    kinds = [(e["kind"], e["actor"]) for e in shown["events"]]
    for expected in ("assigned", "note", "staff_reply", "resolved", "reopened"):
        assert (expected, "lead") in kinds
    smtp_server.clear()
    assert cli(config, "run", "--once").returncode == 0  # the daemon sends what the CLI queued
    bodies = [_body(m.raw) for m in smtp_server.wait_for(2)]
    assert any("We unlocked your account" in body for body in bodies)
    assert any("unlocked" in body for body in bodies)


def test_a_category_corrected_by_staff_mail_is_an_example_train_learns_from(tmp_path: Path) -> None:
    from inbox_agent.config.loader import load_config
    from inbox_agent.entrypoints.bootstrap import training_corpus

    maildir = tmp_path / "maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "new" / "1.mail").write_bytes(
        complaint("ben@example.com", "My data", "Please tell me what personal data you keep about me.")
    )
    config = write_config(tmp_path, maildir=maildir, overrides=OUR_SERVER)
    assert cli(config, "run", "--once").returncode == 0
    (case,) = cli_json(config, "cases")
    case_id = case["case_id"]
    target = "other" if case["category"] == "privacy" else "privacy"
    (maildir / "new" / "2.mail").write_bytes(
        complaint(STAFF, f"Re: [{case_id}] My data", f"#category {target}", headers=STAFF_AUTHENTICATED)
    )
    assert cli(config, "run", "--once").returncode == 0
    shown = cli_json(config, "show", case_id)
    assert shown["category"] == target
    assert ("recategorized", STAFF) in [(e["kind"], e["actor"]) for e in shown["events"]]
    # `train` reads it from the store (no correction file row was written by the mail door).
    assert not (tmp_path / "data" / "category-corrections.jsonl").exists()
    corpus = training_corpus(load_config(config), Path(__file__).parent / "data")
    corrections = [e for e in corpus.training if e.source == "correction"]
    assert [(e.subject, e.category) for e in corrections] == [("My data", target)]
    assert "personal data you keep" in corrections[0].text
    # A later correction from the CLI writes a file row too: still one example, the latest category.
    assert cli(config, "recategorize", case_id, "customer_service", "--by", "lead").returncode == 0
    assert (tmp_path / "data" / "category-corrections.jsonl").exists()
    corpus = training_corpus(load_config(config), Path(__file__).parent / "data")
    corrections = [e for e in corpus.training if e.source == "correction"]
    assert [(e.subject, e.category) for e in corrections] == [("My data", "customer_service")]


def _notification_text() -> str:
    from test_templates import staff_notification

    from inbox_agent.mail.compose import render_staff_notification
    from inbox_agent.mail.render import SHIPPED_TEMPLATES, TemplateSet

    return render_staff_notification(TemplateSet(SHIPPED_TEMPLATES), staff_notification()).text


@pytest.mark.parametrize(
    "layout",
    [
        "{typed}\n\n{notification}",  # pasted below with no quote header at all
        "{typed}\n\nDe : Complaints <complaints@wallet.example>\nEnvoyé : jeudi 3 décembre 2026\n\n{notification}",
        "{typed}\n\nAm Do., 3. Dez. 2026 um 10:00 Uhr schrieb Complaints <complaints@wallet.example>:\n{notification}",
    ],
)
def test_a_staff_reply_never_carries_our_notification_on_to_the_customer(layout: str) -> None:
    notification = _notification_text()
    mail = layout.format(typed="Je regarde votre dossier.", notification=notification)
    action = parse_staff_mail(written_part(mail), STAFF)
    assert (action.kind, action.text) == ("reply", "Je regarde votre dossier.")


@pytest.mark.parametrize(
    "text",
    ["Hi team,\n\n#note customer called, suspect fraud, do not refund", "Thanks.\n#resolve refunded"],
)
def test_a_command_below_the_first_line_is_kept_as_a_note_and_never_sent(text: str) -> None:
    action = parse_staff_mail(text, STAFF)
    assert action.kind == "note"
    # the command is on the last line of each example
    assert action.text == f"{COMMAND_NOT_FIRST.format(line=len(text.splitlines()))}\n\n{text}"


def test_a_staff_mail_with_nothing_typed_above_the_quote_is_a_note_not_a_reply() -> None:
    quoted = "\n".join(f"> {line}" for line in _notification_text().splitlines())
    mail = f"On Thu, 3 Dec 2026 at 10:00, Complaints <complaints@wallet.example> wrote:\n{quoted}\n"
    action = parse_staff_mail(written_part(mail), STAFF)
    assert (action.kind, action.text) == ("note", NOTHING_WRITTEN)


def test_a_quote_sent_by_mistake_reaches_no_customer(tmp_path: Path, smtp_server) -> None:
    maildir = tmp_path / "maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "new" / "1.mail").write_bytes(
        complaint("ben@example.com", "Account locked", "My account is locked since 2026-11-19.")
    )
    config = write_config(tmp_path, smtp=smtp_server, maildir=maildir, overrides=OUR_SERVER)
    assert cli(config, "run", "--once").returncode == 0
    (case,) = cli_json(config, "cases")
    case_id = case["case_id"]
    smtp_server.wait_for(1)
    smtp_server.clear()
    quoted = "\n".join(f"> {line}" for line in _notification_text().splitlines())
    (maildir / "new" / "2.mail").write_bytes(
        complaint(
            STAFF,
            f"Re: [{case_id}] escalated",
            f"On Thu, 3 Dec 2026 at 10:00, Complaints <complaints@wallet.example> wrote:\n{quoted}\n",
            headers=STAFF_AUTHENTICATED,
        )
    )
    assert cli(config, "run", "--once").returncode == 0
    assert smtp_server.received == []
    events = cli_json(config, "show", case_id)["events"]
    assert ("note", STAFF, NOTHING_WRITTEN) in [(e["kind"], e["actor"], e["detail"]) for e in events]
    assert "staff_reply" not in [e["kind"] for e in events]
