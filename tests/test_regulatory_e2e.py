"""Regulatory clocks end to end with the real Dovecot and SMTP server.

An old-incident complaint under PSD2 -> the acknowledgement tells the customer about
the complaint window -> the case cannot be closed: at the holding point (replayed with
`escalate --now`) the holding reply goes out, before the substantive deadline, with the
new date and the next steps -> `resolve` -> the resolution mail names the next steps
-> `export` shows every clock met.
"""

from __future__ import annotations

import email
import email.policy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from helpers import cli, cli_json, complaint, write_config

from inbox_agent.domain.clock import iso, parse_iso

pytestmark = pytest.mark.dovecot

CUSTOMER = "eva@kunde.example"
TEAM = "team@ops.example"
NEXT_STEPS = (
    '\n[[regulatory.jurisdiction.PSD2.next_step]]\nkind = "internal"\n'
    'name_en = "Our complaints review panel"\ncontact = "review@wallet.example"\n'
    '\n[[regulatory.jurisdiction.PSD2.next_step]]\nkind = "regulator"\n'
    'name_en = "The payments ombudsman"\ncontact = "+49 30 0000 0000"\n'
)


def _text(raw: bytes) -> str:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    return message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]


def _to_customer(received: list[Any]) -> list[Any]:
    return [mail for mail in received if tuple(mail.rcpt_tos) == (CUSTOMER,)]


def test_old_incident_holding_reply_resolution_and_export(
    dovecot: Any, smtp_server: Any, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path,
        dovecot=dovecot,
        smtp=smtp_server,
        overrides={"regulatory": {"default": "PSD2"}, "escalation.L1": {"recipients": [TEAM]}},
    )
    config.write_text(config.read_text() + NEXT_STEPS)

    def run(*args: str) -> str:
        done = cli(config, *args)
        assert done.returncode == 0, done.stderr + done.stdout
        return done.stdout

    # 1. An incident 90 days ago: the acknowledgement tells about the 60-day window.
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date()
    incident = (today - timedelta(days=90)).isoformat()
    dovecot.append(
        complaint(
            CUSTOMER,
            "Transfer never arrived",
            f"My transfer of 250.00 EUR on {incident} never reached my account. Please find it.",
            date=datetime.now(UTC),
        )
    )
    run("run", "--once")
    (ack,) = _to_customer(smtp_server.wait_for(1))
    ack_text = _text(ack.raw)
    assert incident in ack_text and "within 60 days of an incident" in ack_text
    assert "statutory time limits may be longer" in ack_text
    (listed,) = cli_json(config, "cases")
    case_id = listed["case_id"]
    shown = cli_json(config, "show", case_id)
    assert "outside_complaint_window" in shown["flags"] and shown["jurisdiction"] == "PSD2"
    clocks = {clock["clock"]: clock for clock in shown["deadlines"]["clocks"]}
    holding, substantive = (
        parse_iso(clocks["holding"]["deadline"]),
        parse_iso(clocks["substantive"]["deadline"]),
    )
    assert holding < substantive
    show_text = run("show", case_id)
    assert "jurisdiction: PSD2" in show_text and "deadline substantive (15 business days)" in show_text
    assert "complaint window" in show_text

    # 2. Just before the holding point nothing reaches the customer.
    smtp_server.clear()
    run("escalate", "--now", iso(holding - timedelta(seconds=1)))
    run("run", "--once")
    assert _to_customer(smtp_server.received) == []

    # 3. At the holding point the case is still open: the holding reply goes out, once,
    #    before the substantive deadline, with the new date and the customer's options.
    smtp_server.clear()
    sent_at = holding + timedelta(minutes=1)
    assert sent_at < substantive
    swept = run("escalate", "--now", iso(sent_at))
    assert f"holding replies queued: {case_id}" in swept
    run("run", "--once")
    holding_mails = _to_customer(smtp_server.wait_for(1))
    assert len(holding_mails) == 1
    holding_text = _text(holding_mails[0].raw)
    final_date = (
        parse_iso(clocks["final"]["deadline"]).astimezone(ZoneInfo("Europe/Berlin")).date().isoformat()
    )
    assert final_date in holding_text and case_id in holding_text
    assert "review@wallet.example" in holding_text and "+49 30 0000 0000" in holding_text
    smtp_server.clear()
    run("escalate", "--now", iso(sent_at + timedelta(hours=2)))
    run("run", "--once")
    assert _to_customer(smtp_server.received) == []

    # 4. The resolution names the next steps.
    run("resolve", case_id, "We traced the transfer and credited 250.00 EUR.", "--by", "li")
    run("run", "--once")
    (resolution,) = _to_customer(smtp_server.wait_for(1))
    resolution_text = _text(resolution.raw)
    assert "credited 250.00 EUR" in resolution_text
    assert "Our complaints review panel: review@wallet.example" in resolution_text
    assert "The payments ombudsman: +49 30 0000 0000" in resolution_text

    # 5. The export: holding reply in time, final response in time.
    exported = json.loads(
        run("export", "--from", today.isoformat(), "--to", today.isoformat(), "--format", "json")
    )
    (row,) = exported["rows"]
    assert row["case"] == case_id and row["holding_result"] == "met" and row["final_result"] == "met"
    assert row["substantive_result"] == "met" and row["outcome"] == "resolved"
    csv_text = run("export", "--from", today.isoformat(), "--to", today.isoformat())
    assert csv_text.splitlines()[0].startswith("case,jurisdiction,received,acknowledged,holding_reply")
