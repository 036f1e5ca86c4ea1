"""SMTP sending fixes, against real aiosmtpd servers: addresses smtplib cannot encode,
recipients refused within a mail, a relay's per-connection limit, the run summary."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from helpers import cli, cli_json, complaint, write_config
from servers import SmtpServer, _RecordingHandler
from test_transport import acknowledgement, outcomes, smtp_settings

from inbox_agent.adapters.smtp import SmtpTransport
from inbox_agent.config.settings import SmtpSettings
from inbox_agent.domain.model import OutgoingMail, SendOutcome, SendResult
from inbox_agent.domain.outbox import NotOffered, after_result

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class _RefusingHandler(_RecordingHandler):
    """Refuses every recipient whose address starts with "gone" (550 at RCPT); offers
    SMTPUTF8 only while ``smtputf8`` is set."""

    smtputf8 = True
    sender_refused = ""  # the answer to every MAIL FROM while set

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        if self.sender_refused:
            return self.sender_refused
        return await super().handle_MAIL(server, session, envelope, address, mail_options)

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        responses = await super().handle_EHLO(server, session, envelope, hostname, responses)
        return [line for line in responses if self.smtputf8 or "SMTPUTF8" not in line]

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.startswith("gone"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


@pytest.fixture(params=[False, True], ids=["one-command-at-a-time", "pipelining"])
def server(request: pytest.FixtureRequest) -> Iterator[SmtpServer]:
    smtp = SmtpServer(pipelining=request.param).start()
    assert smtp._controller is not None
    smtp._controller.handler = _RefusingHandler(smtp)  # one handler for every session
    try:
        yield smtp
    finally:
        smtp.stop()


def _to(number: int, recipient: str) -> OutgoingMail:
    return OutgoingMail(**{**acknowledgement(number).__dict__, "recipients": (recipient,)})


def test_an_idn_customer_is_sent_as_punycode_and_the_next_customer_still_gets_the_mail(server) -> None:
    """Before: UnicodeEncodeError after MAIL FROM, no RSET, the next mail "503 nested MAIL"."""
    mails = [_to(1, "kunde@bücher.example"), acknowledgement(2), acknowledgement(3)]

    results = SmtpTransport(smtp_settings(server)).send_batch(mails)

    assert outcomes(results) == [SendOutcome.SENT] * 3, [r.detail for r in results]
    received = server.wait_for(3)
    assert [mail.rcpt_tos for mail in received] == [
        ("kunde@xn--bcher-kva.example",),
        ("customer2@example.com",),
        ("customer3@example.com",),
    ]


def test_a_non_ascii_local_part_without_smtputf8_fails_alone_and_the_next_mail_goes_out(server) -> None:
    server._controller.handler.smtputf8 = False
    mails = [_to(1, "用户@example.com"), acknowledgement(2)]

    results = SmtpTransport(smtp_settings(server)).send_batch(mails)

    assert outcomes(results) == [SendOutcome.FAILED, SendOutcome.SENT]
    assert "SMTPUTF8" in results[0].detail and "用户@example.com" in results[0].detail
    assert [mail.rcpt_tos for mail in server.wait_for(1)] == [("customer2@example.com",)]


def test_a_mail_refused_at_data_leaves_no_open_transaction_for_the_next(server) -> None:
    server.fault = "550"
    first = SmtpTransport(smtp_settings(server)).send_batch([acknowledgement(1)])
    server.fault = "none"
    assert outcomes(first) == [SendOutcome.FAILED]
    both = SmtpTransport(smtp_settings(server)).send_batch([_to(1, "gone@example.com"), acknowledgement(2)])
    assert outcomes(both) == [SendOutcome.FAILED, SendOutcome.SENT]


def test_a_relay_limit_per_connection_delivers_the_whole_batch_over_new_connections(server) -> None:
    """Before: one reconnect per batch, the last two mails RETRY with backoff."""
    server.max_messages_per_connection = 5
    mails = [acknowledgement(n) for n in range(12)]

    results = SmtpTransport(smtp_settings(server)).send_batch(mails)

    assert outcomes(results) == [SendOutcome.SENT] * 12
    assert [mail.raw for mail in server.wait_for(12)] == [mail.raw for mail in mails]  # each once, in order
    assert server.connections == 3


def test_a_mail_never_offered_keeps_its_attempts_and_schedule() -> None:
    entry = {
        "outbox_id": "x",
        "status": "pending",
        "attempts": 2,
        "next_attempt_at": "2026-12-01T08:00:00+00:00",
    }
    kept = after_result(entry, NotOffered("x", detail="not offered: 421"), NOW, 60, 3600)
    assert kept is not None
    assert (kept["attempts"], kept["next_attempt_at"]) == (2, entry["next_attempt_at"])


def _maildir(folder: Path) -> Path:
    for sub in ("new", "cur", "tmp"):
        (folder / "maildir" / sub).mkdir(parents=True, exist_ok=True)
    return folder / "maildir"


def test_an_escalation_recipient_refused_is_named_on_the_case_and_logged(server, tmp_path: Path) -> None:
    maildir = _maildir(tmp_path)
    staff = ["team@staff.wallet.example", "gone.supervisor@staff.wallet.example"]
    config = write_config(
        tmp_path,
        maildir=maildir,
        smtp=server,
        overrides={"escalation": {"enabled": True}, "escalation.L1": {"after": "100%", "recipients": staff}},
    )
    (maildir / "new" / "1.mail").write_bytes(complaint("c@example.com", "Payment failed", "Error E1023."))
    assert cli(config, "run", "--once").returncode == 0
    later = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    assert cli(config, "escalate", "--now", later).returncode == 0
    run = cli(config, "run", "--once")

    assert run.returncode == 0, run.stderr
    assert "gone.supervisor@staff.wallet.example: 550 5.1.1" in run.stderr  # the error log
    case_id = cli_json(config, "cases")[0]["case_id"]
    failed = [e["detail"] for e in cli_json(config, "show", case_id)["events"] if e["kind"] == "mail_failed"]
    assert len(failed) == 1
    assert failed[0].startswith("staff_notify to gone.supervisor@staff.wallet.example: ")
    assert "550 5.1.1" in failed[0] and "delivered to team@staff.wallet.example" in failed[0]


def test_run_once_summary_counts_the_cycles_mail_left_to_retry(tmp_path: Path) -> None:
    """Before: "0 to retry" while both acknowledgements were pending after a 451."""
    server = SmtpServer().start()
    try:
        server.fault = "451"
        maildir = _maildir(tmp_path)
        config = write_config(tmp_path, maildir=maildir, smtp=server)
        for number in range(2):
            raw = complaint(f"c{number}@example.com", "Money not received", "My transfer has not arrived.")
            (maildir / "new" / f"{number}.mail").write_bytes(raw)
        run = cli(config, "run", "--once")
    finally:
        server.stop()
    assert run.returncode == 0, run.stderr
    assert "outbox: 0 sent, 2 to retry, 0 failed" in run.stdout
    assert cli_json(config, "status")["outbox_pending"] == 2


def test_a_non_ascii_local_part_goes_out_where_the_server_offers_smtputf8(server) -> None:
    results = SmtpTransport(smtp_settings(server)).send_batch([_to(1, "用户@bücher.example")])
    assert outcomes(results) == [SendOutcome.SENT], results[0].detail
    assert server.wait_for(1)[0].rcpt_tos == ("用户@xn--bcher-kva.example",)


@pytest.fixture
def trickling_server() -> Iterator[tuple[str, int]]:
    """Greets with one "220-" continuation line every 0.3 s, for ever: every read gets
    its line well within the timeout, so the per-read timeout alone never ends it."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def trickle(peer: socket.socket) -> None:
        with contextlib.suppress(OSError), peer:
            while not stop.is_set():
                peer.sendall(b"220-still greeting you\r\n")
                time.sleep(0.3)

    def accept_forever() -> None:
        while not stop.is_set():
            try:
                peer, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # the listener was closed
            threading.Thread(target=trickle, args=(peer,), daemon=True).start()

    threading.Thread(target=accept_forever, daemon=True).start()
    try:
        yield listener.getsockname()[:2]
    finally:
        stop.set()
        listener.close()


def test_a_server_that_trickles_its_greeting_is_given_up_on_and_the_mail_kept(
    trickling_server: tuple[str, int],
) -> None:
    host, port = trickling_server
    settings = SmtpSettings(kind="smtp", host=host, port=port, security="plain", timeout=1.0)
    finished: list[list] = []
    sender = threading.Thread(
        target=lambda: finished.append(SmtpTransport(settings).send_batch([acknowledgement(1)])), daemon=True
    )
    sender.start()
    sender.join(timeout=60)  # before: still greeting after any wait, and the daemon with it
    assert finished, "the send never ended"
    (result,) = finished[0]
    assert result.outcome == SendOutcome.RETRY and "timed out" in result.detail


def test_a_recipient_refusing_with_4xx_for_days_is_given_up_on_visibly() -> None:
    entry = {
        "outbox_id": "x",
        "status": "pending",
        "attempts": 40,
        "queued_at": "2026-11-25T08:00:00+00:00",  # six days before NOW
        "next_attempt_at": "2026-12-01T08:00:00+00:00",
    }
    full = SendResult("x", SendOutcome.RETRY, "452 4.2.2 mailbox full")
    given_up = after_result(entry, full, NOW, 60, 3600)
    assert given_up is not None and given_up["status"] == "failed"  # before: retried for ever
    assert "gave up after 5 days" in given_up["last_error"] and "452" in given_up["last_error"]
    young = after_result({**entry, "queued_at": "2026-11-30T08:00:00+00:00"}, full, NOW, 60, 3600)
    assert young is not None and young["status"] == "pending"


def test_our_sender_address_refused_keeps_every_mail_for_retry_until_the_relay_is_fixed(server) -> None:
    handler = server._controller.handler
    handler.sender_refused = (
        "553 5.7.1 <complaints@wallet.example>: Sender address rejected: not owned by user"
    )
    transport = SmtpTransport(smtp_settings(server))
    refused = transport.send_batch([acknowledgement(1), acknowledgement(2)])
    # Before: FAILED for good, every customer's acknowledgement lost to our relay setup.
    assert outcomes(refused) == [SendOutcome.RETRY] * 2 and "553" in refused[0].detail
    handler.sender_refused = ""  # ops fix the relay
    assert outcomes(transport.send_batch([acknowledgement(1), acknowledgement(2)])) == [SendOutcome.SENT] * 2
