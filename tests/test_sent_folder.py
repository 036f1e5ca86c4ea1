"""The account's Sent folder: a reply written there by hand stops the clock; copies
of our own replies are kept there and never mistaken for a staff response."""

from __future__ import annotations

import email
import email.policy
from typing import Any

import pytest
from helpers import cli, cli_json, complaint, write_config

pytestmark = pytest.mark.dovecot

CUSTOMER = "lena@example.com"


def _run(config: Any) -> str:
    ran = cli(config, "run", "--once")
    assert ran.returncode == 0, ran.stderr + ran.stdout
    return ran.stdout


def test_hand_written_reply_in_sent_stops_the_clock_and_our_copies_do_not(
    dovecot: Any, smtp_server: Any, tmp_path: Any
) -> None:
    config = write_config(
        tmp_path, dovecot=dovecot, smtp=smtp_server, overrides={"mailbox.imap": {"sent_folder": "Sent"}}
    )
    dovecot.append(
        complaint(
            CUSTOMER, "Payment failed", "My payment of ¥80.00 failed.", message_id="<lena-1@example.com>"
        )
    )
    _run(config)
    (ack,) = smtp_server.wait_for(1)
    (case,) = cli_json(config, "cases")
    case_id = case["case_id"]

    # The acknowledgement was copied to Sent, marked as ours.
    with dovecot.client("Sent") as client:
        copies = client.fetch(client.search(["ALL"]), ["BODY.PEEK[]"])
    (copy,) = [
        email.message_from_bytes(item[b"BODY[]"], policy=email.policy.default) for item in copies.values()
    ]
    assert copy["Message-ID"] == email.message_from_bytes(ack.raw)["Message-ID"]

    # The next cycle reads that copy back and leaves the case's clock running.
    smtp_server.clear()
    _run(config)
    shown = cli_json(config, "show", case_id)
    assert shown["awaiting_since"], "our own acknowledgement is not a staff response"
    assert smtp_server.received == []

    # A colleague answers from the complaint account in a mail client: it lands in Sent.
    dovecot.append(
        complaint(
            "complaints@wallet.example",
            f"Re: [{case_id}] Payment failed",
            "Dear Lena, the payment was reversed; please try again.",
            in_reply_to="<lena-1@example.com>",
            message_id="<by-hand-1@wallet.example>",
        ),
        folder="Sent",
    )
    out = _run(config)
    assert "Sent folder" in out
    shown = cli_json(config, "show", case_id)
    assert shown["awaiting_since"] == ""
    assert shown["status"] == "waiting_customer"
    (event,) = [e for e in shown["events"] if e["kind"] == "staff_reply"]
    assert "(Sent folder)" in event["actor"]
    assert smtp_server.received == []  # nothing sent: the colleague already answered
    assert len(cli_json(config, "cases")) == 1

    # And it is not processed twice.
    _run(config)
    again = cli_json(config, "show", case_id)
    assert [e["kind"] for e in again["events"]].count("staff_reply") == 1
