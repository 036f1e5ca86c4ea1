"""The hostile-staff suite, end to end with the real Dovecot and SMTP server.

Attackers write on a customer's case as "staff": a forged From with no
Authentication-Results, with our server's `dmarc=fail`, with a forged pass placed
below our server's header, with someone else's authserv-id, from a look-alike domain,
and as a reply to a guessed notification id. Zero actions, zero mails to the
customer, and every case records why. Then real staff — an aligned pass from our
server, and a reply to their own escalation notification — still work end to end.
"""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import cli, cli_json, complaint, write_config

from inbox_agent.domain.clock import iso, parse_iso

pytestmark = pytest.mark.dovecot

CUSTOMER = "amy@example.com"
SUPERVISOR = "supervisor@wallet.example"
TEAM = "team@staff.wallet.example"
OURS = "mx.wallet.example"


def _pass(domain: str) -> str:
    return f"{OURS}; dkim=pass header.d={domain}; spf=pass smtp.mailfrom={domain}; dmarc=pass header.from={domain}"


def _text(raw: bytes) -> str:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    return msg.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]


def _header(raw: bytes, name: str) -> str:
    return str(email.message_from_bytes(raw, policy=email.policy.default)[name])


def _with_results(raw: bytes, *results: str) -> bytes:
    """The headers as they arrive: whatever our server added on top, topmost first."""
    return b"".join(f"Authentication-Results: {value}\r\n".encode() for value in results) + raw


def _hostile_mails(case_id: str) -> dict[str, bytes]:
    subject = f"Re: [{case_id}] Charged twice"
    phishing = "Dear customer, to finish the refund reply with your payment password and the SMS code."
    guessed = f"<{case_id}.escalation.L1.20261120T093000Z@wallet.example>"
    return {
        "no results": complaint(SUPERVISOR, subject, "#resolve refunded"),
        "dmarc=fail": _with_results(
            complaint(SUPERVISOR, subject, phishing),
            f"{OURS}; spf=fail smtp.mailfrom=wallet.example; dmarc=fail (p=reject) header.from=wallet.example",
        ),
        "forged below ours": _with_results(
            complaint("boss@staff.wallet.example", subject, "#resolve closing this"),
            f"{OURS}; spf=softfail smtp.mailfrom=staff.wallet.example; dmarc=none header.from=staff.wallet.example",
            _pass("staff.wallet.example"),
        ),
        "forged authserv-id": _with_results(
            complaint("anything@staff.wallet.example", subject, phishing),
            _pass("staff.wallet.example").replace(OURS, "mx.attacker.example"),
        ),
        "look-alike domain": _with_results(
            complaint("supervisor@wa11et.example", subject, "#resolve"), _pass("wa11et.example")
        ),
        "guessed notification id": complaint(TEAM, subject, "#resolve", in_reply_to=guessed),
    }


def test_hostile_staff_do_nothing_and_real_staff_still_work(
    dovecot: Any, smtp_server: Any, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path,
        dovecot=dovecot,
        smtp=smtp_server,
        overrides={"trust": {"authserv_id": OURS}, "staff": {"addresses": [SUPERVISOR]}, "escalation": {}},
    )
    config.write_text(config.read_text() + f'\n[escalation.L1]\nafter = "100%"\nrecipients = ["{TEAM}"]\n')

    def run_once() -> None:
        ran = cli(config, "run", "--once")
        assert ran.returncode == 0, ran.stderr + ran.stdout

    dovecot.append(complaint(CUSTOMER, "Charged twice", "I was charged twice, ¥99.00 each, on 2026-11-18."))
    run_once()
    smtp_server.wait_for(1)
    (case,) = cli_json(config, "cases")
    case_id = case["case_id"]
    before = cli_json(config, "show", case_id)

    # 1. The attacks.
    smtp_server.clear()
    hostile = _hostile_mails(case_id)
    for raw in hostile.values():
        dovecot.append(raw)
    run_once()
    received = smtp_server.wait_for(5)
    assert [m for m in received if CUSTOMER in m.rcpt_tos] == []  # nothing reached the customer
    alerts = [
        m for m in received if m.rcpt_tos == (TEAM,) and "unauthenticated staff-like sender" in _text(m.raw)
    ]
    assert len(alerts) == 5  # every staff-like forgery alerted L1; the look-alike is no staff claim
    after = cli_json(config, "show", case_id)
    assert after["status"] == before["status"] and after["awaiting_since"] == before["awaiting_since"]
    new_events = after["events"][len(before["events"]) :]
    # Only the refusals, and the sending of their alerts to L1.
    assert {event["kind"] for event in new_events} == {"sender_alert", "mail_sent"}
    sent = [event["detail"] for event in new_events if event["kind"] == "mail_sent"]
    assert len(sent) == 5 and all(detail.startswith("sender_alert ") for detail in sent)
    why = " ".join(event["detail"] for event in new_events)
    for reason in (
        "no Authentication-Results",
        "dmarc=fail",
        "mx.attacker.example",
        "no aligned pass",
    ):
        assert reason in why, reason
    # Each forged mail became a customer mail from its own address, on its own case.
    others = {c["customer"]: c for c in cli_json(config, "cases") if c["case_id"] != case_id}
    assert "likely_phishing" in others["supervisor@wa11et.example"]["flags"]
    assert "unauthenticated_staff_sender" in others[SUPERVISOR]["flags"]
    shown = cli(config, "classify", "--json", str(_saved(tmp_path, hostile["dmarc=fail"])))
    assert '"verdict": "fail"' in shown.stdout

    # 2. Real staff: an aligned pass from our own server answers the customer.
    smtp_server.clear()
    dovecot.append(
        _with_results(
            complaint(
                SUPERVISOR, f"Re: [{case_id}] Charged twice", "Hello Amy, we are refunding the second charge."
            ),
            _pass("wallet.example"),
        )
    )
    run_once()
    (answer,) = [m for m in smtp_server.wait_for(1) if m.rcpt_tos == (CUSTOMER,)]
    assert "refunding the second charge" in _text(answer.raw)

    # 3. Real staff with no results at all: a reply to their own notification.
    dovecot.append(complaint(CUSTOMER, f"Re: [{case_id}] Charged twice", "Any news?"))
    run_once()
    waiting = parse_iso(cli_json(config, "show", case_id)["awaiting_since"])
    smtp_server.clear()
    assert cli(config, "escalate", "--now", iso(waiting + timedelta(hours=25))).returncode == 0
    run_once()
    # (The forgers' own cases escalate too: pick the notification about Amy's.)
    (notification,) = [
        m for m in smtp_server.wait_for(1) if m.rcpt_tos == (TEAM,) and case_id in _header(m.raw, "Subject")
    ]
    notification_id = email.message_from_bytes(notification.raw)["Message-ID"]
    assert notification_id.count(".") >= 4  # the unguessable token after the derived part
    smtp_server.clear()
    dovecot.append(
        complaint(
            TEAM, f"Re: [{case_id}] L1", "#resolve Refund of ¥99.00 issued.", in_reply_to=notification_id
        )
    )
    run_once()
    (resolution,) = [m for m in smtp_server.wait_for(1) if m.rcpt_tos == (CUSTOMER,)]
    assert "Refund of ¥99.00 issued." in _text(resolution.raw)
    final = cli_json(config, "show", case_id)
    assert final["status"] == "resolved"
    assert any("notification_reply" in e["detail"] for e in final["events"] if e["kind"] == "sender_checked")


def _saved(folder: Path, raw: bytes) -> Path:
    path = folder / "hostile.eml"
    path.write_bytes(raw)
    return path
