"""The whole life of a late case, end to end with the real Dovecot and SMTP server.

complaint -> acknowledgement -> (time passes, replayed with `escalate --now`) -> L1
notification -> L2 notification -> the L1 team answers the notification by mail ->
the customer gets that answer and the clock stops -> `#resolve` -> resolution mail
-> the customer answers -> the case is reopened and its clock runs again.
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

CUSTOMER = "emma@example.com"
TEAM = "team@ops.example"  # not in [staff]: an escalation recipient counts as staff
SUPERVISOR = "supervisor@ops.example"


def _mail(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def _text(raw: bytes) -> str:
    return _mail(raw).get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]


def _only_to(received: list[Any], address: str) -> Any:
    matching = [m for m in received if tuple(m.rcpt_tos) == (address,)]
    assert len(matching) == 1, [m.rcpt_tos for m in received]
    return matching[0]


def test_late_case_escalates_staff_answer_by_mail_resolve_and_customer_reopens(
    dovecot: Any, smtp_server: Any, tmp_path: Path
) -> None:
    config = write_config(tmp_path, dovecot=dovecot, smtp=smtp_server, overrides={"escalation": {}})
    config.write_text(
        config.read_text()
        + f'\n[escalation.L1]\nafter = "100%"\nrecipients = ["{TEAM}"]\n'
        + f'\n[escalation.L2]\nafter = "+24h"\nrecipients = ["{SUPERVISOR}"]\n'
    )

    def sweep_at(moment: Any) -> None:
        swept = cli(config, "escalate", "--now", iso(moment))
        assert swept.returncode == 0, swept.stderr + swept.stdout

    def run_once() -> None:
        ran = cli(config, "run", "--once")
        assert ran.returncode == 0, ran.stderr + ran.stdout

    # 1. The complaint, and its acknowledgement.
    dovecot.append(
        complaint(
            CUSTOMER,
            "Charged twice",
            "You charged my card 4111 1111 1111 1111 twice for $128.00 on 2026-11-19. Refund please.",
            message_id="<emma-1@example.com>",
        )
    )
    run_once()
    ack = _only_to(smtp_server.wait_for(1), CUSTOMER)
    (listed,) = cli_json(config, "cases")
    case_id = listed["case_id"]
    assert case_id in _mail(ack.raw)["Subject"]
    started = parse_iso(cli_json(config, "show", case_id)["awaiting_since"])

    # 2. One second before the 24 h limit nothing happens; after it, L1 is told.
    smtp_server.clear()
    sweep_at(started + timedelta(hours=24) - timedelta(seconds=1))
    run_once()
    assert smtp_server.received == []
    sweep_at(started + timedelta(hours=25))
    run_once()
    l1 = _only_to(smtp_server.wait_for(1), TEAM)
    l1_mail = _mail(l1.raw)
    assert l1_mail["Subject"].startswith(f"[{case_id}] L1")
    assert l1_mail["Reply-To"] == "complaints@wallet.example"
    assert "4111 1111 1111 1111" not in _text(l1.raw)
    assert cli_json(config, "show", case_id)["status"] == "escalated"
    status = cli_json(config, "status")
    assert status["cases_by_status"] == {"escalated": 1}
    assert case_id in status["oldest_waiting"]
    assert status["overdue"] == 0  # judged at the real now: only the replay was late

    # 3. 24 h after the limit, L2; sweeping again sends nothing more.
    smtp_server.clear()
    sweep_at(started + timedelta(hours=49))
    run_once()
    _only_to(smtp_server.wait_for(1), SUPERVISOR)
    smtp_server.clear()
    sweep_at(started + timedelta(hours=50))
    run_once()
    assert smtp_server.received == []

    # 4. The team answers the L1 notification from their mail client: the answer goes
    #    to the customer, with the case id, and stops the clock.
    dovecot.append(
        complaint(
            TEAM,
            f"Re: {l1_mail['Subject']}",
            "Dear Emma, we found the second charge and are refunding it today.",
            in_reply_to=l1_mail["Message-ID"],
            message_id="<team-1@ops.example>",
        )
    )
    run_once()
    answer = _only_to(smtp_server.wait_for(1), CUSTOMER)
    assert case_id in _mail(answer.raw)["Subject"]
    assert "refunding it today" in _text(answer.raw)
    shown = cli_json(config, "show", case_id)
    assert shown["awaiting_since"] == ""
    assert shown["status"] == "waiting_customer"

    # With the clock stopped, no amount of time escalates the case further.
    smtp_server.clear()
    sweep_at(started + timedelta(days=10))
    run_once()
    assert smtp_server.received == []

    # 5. `#resolve` by mail: the customer gets the resolution mail.
    dovecot.append(
        complaint(
            TEAM,
            f"Re: [{case_id}] Charged twice",
            "#resolve The duplicate charge of $128.00 was refunded.\nIt shows in 1-3 days.",
            # A reply to their own notification proves the sender (tests/test_trust_*.py).
            in_reply_to=l1_mail["Message-ID"],
            message_id="<team-2@ops.example>",
        )
    )
    run_once()
    resolution = _only_to(smtp_server.wait_for(1), CUSTOMER)
    resolution_mail = _mail(resolution.raw)
    assert case_id in resolution_mail["Subject"]
    assert "The duplicate charge of $128.00 was refunded." in _text(resolution.raw)
    assert cli_json(config, "show", case_id)["status"] == "resolved"

    # 6. The customer answers the resolution: the case reopens and its clock restarts.
    smtp_server.clear()
    dovecot.append(
        complaint(
            CUSTOMER,
            f"Re: {resolution_mail['Subject']}",
            "The refund has not arrived yet.",
            in_reply_to=resolution_mail["Message-ID"],
            message_id="<emma-2@example.com>",
        )
    )
    run_once()
    shown = cli_json(config, "show", case_id)
    # Reopened: waiting for the customer's missing evidence or for staff, clock running.
    assert shown["status"] in {"open", "waiting_customer", "waiting_staff"}
    assert parse_iso(shown["awaiting_since"]) > started
    kinds = [event["kind"] for event in shown["events"]]
    assert kinds.count("escalated") == 2
    assert kinds.index("resolved") < kinds.index("reopened")
    assert len(cli_json(config, "cases")) == 1  # no second case was opened on the way
