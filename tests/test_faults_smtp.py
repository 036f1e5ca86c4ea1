"""SMTP faults under the real daemon: crashes after a 250, refusals, 4xx, 5xx, drops.

Real Dovecot in, real aiosmtpd out. What a customer must see: every acknowledgement
arrives, once; the only second copy allowed is the documented crash window (same
Message-ID). What ops must see: failures in ``status`` and on the case.
"""

from __future__ import annotations

import email
import email.policy
import json
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from helpers import cli, cli_json, complaint, start_daemon, write_config
from servers import SmtpServer, _RecordingHandler

pytestmark = pytest.mark.dovecot


class _FaultyHandler(_RecordingHandler):
    """The recording handler plus two faults a real MTA shows: a refused recipient, a drop after DATA."""

    def __init__(self, owner: FaultySmtpServer) -> None:
        super().__init__(owner)
        self._faulty = owner

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self._faulty.refuse_recipients:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self._faulty.drops_after_data > 0:
            # The whole message came in, then the line goes dead before any answer:
            # the client cannot know whether it was delivered. Not recorded = not delivered.
            self._faulty.drops_after_data -= 1
            server.transport.abort()
            return "421 4.4.2 Connection dropped"
        return await super().handle_DATA(server, session, envelope)


class FaultySmtpServer(SmtpServer):
    def __init__(self) -> None:
        super().__init__()
        self.refuse_recipients: set[str] = set()
        self.drops_after_data = 0

    def start(self) -> FaultySmtpServer:
        super().start()
        assert self._controller is not None
        # The controller builds one SMTP session per connection from ``handler``.
        self._controller.handler = _FaultyHandler(self)
        return self


@pytest.fixture
def faulty_smtp() -> Iterator[FaultySmtpServer]:
    server = FaultySmtpServer().start()
    try:
        yield server
    finally:
        server.stop()


def _complaints(count: int, prefix: str = "c") -> list[bytes]:
    return [
        complaint(
            f"{prefix}{i}@example.com",
            "Money not received",
            f"My transfer of {200 + i}元 has not arrived.",
            message_id=f"<{prefix}{i}@example.com>",
        )
        for i in range(count)
    ]


def _message_ids_by_recipient(server: SmtpServer) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for mail in server.received:
        msg = email.message_from_bytes(mail.raw, policy=email.policy.default)
        for rcpt in mail.rcpt_tos:
            found.setdefault(rcpt, []).append(str(msg["Message-ID"]))
    return found


def test_crash_after_smtp_accepted_then_restart_sends_each_ack_once_at_most_one_duplicate(
    dovecot, smtp_server, tmp_path: Path
) -> None:
    config = write_config(tmp_path, dovecot=dovecot, smtp=smtp_server, overrides={"smtp": {"batch_size": 2}})
    dovecot.append_many(_complaints(6))

    crashed = cli(config, "run", "--once", env={"INBOX_AGENT_CRASH_AT": "after_smtp_accepted"})
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    assert len(smtp_server.wait_for(2)) == 2  # the first batch was accepted, then the process died

    again = cli(config, "run", "--once")
    assert again.returncode == 0, again.stderr
    smtp_server.wait_for(6)
    assert cli(config, "run", "--once").returncode == 0
    time.sleep(0.3)

    by_recipient = _message_ids_by_recipient(smtp_server)
    assert sorted(by_recipient) == [f"c{i}@example.com" for i in range(6)]
    copies = Counter({rcpt: len(ids) for rcpt, ids in by_recipient.items()})
    assert sum(copies.values()) - 6 <= 1  # the documented window: at most one extra copy
    for ids in by_recipient.values():
        assert len(set(ids)) == 1  # a second copy carries the same Message-ID
    status = cli_json(config, "status")
    assert status["outbox_pending"] == 0
    assert status["outbox_failed"] == 0


def _wait(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def _status(config: Path) -> dict:
    result = cli(config, "status", "--json")
    return json.loads(result.stdout) if result.returncode == 0 else {}


def test_smtp_refused_for_a_while_under_the_running_daemon_then_each_ack_once(
    dovecot, smtp_server, tmp_path: Path
) -> None:
    config = write_config(tmp_path, dovecot=dovecot, smtp=smtp_server)
    smtp_server.stop()  # connection refused: nothing listens on the port
    dovecot.append_many(_complaints(3))
    daemon = start_daemon(config)
    try:
        assert _wait(lambda: _status(config).get("outbox_pending") == 3, 30)
        assert _status(config)["smtp"].startswith("retrying")
        smtp_server.start()
        smtp_server.wait_for(3, timeout=30)
        assert _wait(lambda: _status(config).get("outbox_pending") == 0, 30)
        time.sleep(1.5)  # at least one more cycle: nothing is sent twice
        assert daemon.poll() is None
    finally:
        daemon.send_signal(signal.SIGTERM)
        output = daemon.communicate(timeout=20)[0].decode(errors="replace")
    assert daemon.returncode == 0, output
    assert sorted(m.rcpt_tos[0] for m in smtp_server.received) == [f"c{i}@example.com" for i in range(3)]


def test_smtp_451_keeps_the_mail_for_retry_then_sends_it_once(dovecot, smtp_server, tmp_path: Path) -> None:
    config = write_config(tmp_path, dovecot=dovecot, smtp=smtp_server)
    smtp_server.fault = "451"
    dovecot.append_many(_complaints(2))
    assert cli(config, "run", "--once").returncode == 0
    assert cli(config, "run", "--once").returncode == 0  # retried, still 451
    status = cli_json(config, "status")
    assert status["outbox_pending"] == 2
    assert status["outbox_failed"] == 0
    assert status["smtp"].startswith("retrying")
    assert smtp_server.received == []

    smtp_server.fault = "none"
    assert cli(config, "run", "--once").returncode == 0
    smtp_server.wait_for(2)
    assert cli(config, "run", "--once").returncode == 0
    time.sleep(0.3)
    assert sorted(m.rcpt_tos[0] for m in smtp_server.received) == ["c0@example.com", "c1@example.com"]
    assert cli_json(config, "status")["outbox_pending"] == 0


def test_smtp_550_for_one_recipient_fails_that_mail_visibly_and_the_rest_go_out(
    dovecot, faulty_smtp: FaultySmtpServer, tmp_path: Path
) -> None:
    config = write_config(tmp_path, dovecot=dovecot, smtp=faulty_smtp)
    faulty_smtp.refuse_recipients = {"c1@example.com"}
    dovecot.append_many(_complaints(3))
    assert cli(config, "run", "--once").returncode == 0
    faulty_smtp.wait_for(2)
    assert cli(config, "run", "--once").returncode == 0  # a failed mail is not retried
    time.sleep(0.3)
    assert sorted(m.rcpt_tos[0] for m in faulty_smtp.received) == ["c0@example.com", "c2@example.com"]
    status = cli_json(config, "status")
    assert status["outbox_failed"] == 1
    cases = {case["customer"]: case["case_id"] for case in cli_json(config, "cases")}
    events = cli_json(config, "show", cases["c1@example.com"])["events"]
    assert any(event["kind"] == "mail_failed" and "550" in event["detail"] for event in events)


def test_connection_dropped_after_data_is_retried_and_delivered_once(
    dovecot, faulty_smtp: FaultySmtpServer, tmp_path: Path
) -> None:
    config = write_config(tmp_path, dovecot=dovecot, smtp=faulty_smtp)
    faulty_smtp.drops_after_data = 1
    dovecot.append_many(_complaints(3))
    assert cli(config, "run", "--once").returncode == 0
    assert faulty_smtp.drops_after_data == 0  # the fault struck
    assert cli(config, "run", "--once").returncode == 0  # the dropped mail goes out now
    faulty_smtp.wait_for(3)
    assert cli(config, "run", "--once").returncode == 0
    time.sleep(0.3)
    assert sorted(m.rcpt_tos[0] for m in faulty_smtp.received) == [f"c{i}@example.com" for i in range(3)]
    status = cli_json(config, "status")
    assert (status["outbox_pending"], status["outbox_failed"]) == (0, 0)
