"""SMTP and directory transports against a real aiosmtpd server and a real file system."""

from __future__ import annotations

import os
import socket
import stat
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path

import pytest
from servers import SmtpServer

from inbox_agent.adapters import smtp as smtp_module
from inbox_agent.adapters.directory_transport import DirectoryTransport
from inbox_agent.adapters.smtp import SmtpTransport
from inbox_agent.config.settings import Secret, SmtpSettings
from inbox_agent.domain.model import OutgoingMail, SendOutcome
from inbox_agent.services.ports import TransportError

SENDER = "complaints@wallet.example"


def acknowledgement(number: int, text: str = "We have received your complaint.") -> OutgoingMail:
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = SENDER
    message["To"] = f"customer{number}@example.com"
    message["Subject"] = f"[WLT-2024-{number:06d}] Your complaint"
    message["Message-ID"] = f"<ack-{number}@wallet.example>"
    message["Auto-Submitted"] = "auto-replied"
    message.set_content(text)
    return OutgoingMail(
        outbox_id=f"out-{number:04d}",
        case_id=f"WLT-2024-{number:06d}",
        kind="ack_first",
        message_id=f"<ack-{number}@wallet.example>",
        sender=SENDER,
        recipients=(f"customer{number}@example.com",),
        raw=message.as_bytes(),
    )


def smtp_settings(server: SmtpServer, **overrides: object) -> SmtpSettings:
    values: dict[str, object] = {
        "kind": "smtp",
        "host": server.host,
        "port": server.port,
        "security": "plain",
        "timeout": 5.0,
        # One connection: the tests here are about what happens on a connection;
        # tests/test_smtp_connections.py sends a batch over several.
        "connections": 1,
    }
    values.update(overrides)
    return SmtpSettings(**values)  # type: ignore[arg-type]


def outcomes(results) -> list[SendOutcome]:
    return [result.outcome for result in results]


@pytest.fixture(params=[False, True], ids=["one-command-at-a-time", "pipelining"])
def smtp_server(request: pytest.FixtureRequest) -> Iterator[SmtpServer]:
    """Every SMTP test here runs twice: against a server that offers PIPELINING (the
    envelope goes out in one write) and one that does not (smtplib, one by one)."""
    server = SmtpServer(pipelining=request.param)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def test_pipelining_is_used_when_offered_and_answers_keep_their_meaning(
    smtp_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two recipients, one refused (550 at RCPT): the mail goes to the other and the
    refusal is reported with the server's words, pipelined or not; a mail with every
    recipient refused is FAILED and the next mail on the connection still goes out."""
    pipelined: list[str] = []
    real = smtp_module.pipelined_sendmail
    monkeypatch.setattr(
        smtp_module,
        "pipelined_sendmail",
        lambda smtp, sender, *rest: (pipelined.append(sender), real(smtp, sender, *rest))[1],
    )
    both = OutgoingMail(
        **{**acknowledgement(1).__dict__, "recipients": ("customer1@example.com", "nobody@refused.example")}
    )
    nobody = OutgoingMail(**{**acknowledgement(2).__dict__, "recipients": ("nobody@refused.example",)})
    smtp_server.refuse_recipient = "nobody@refused.example"

    results = SmtpTransport(smtp_settings(smtp_server)).send_batch([both, nobody, acknowledgement(3)])

    assert outcomes(results) == [SendOutcome.SENT, SendOutcome.FAILED, SendOutcome.SENT]
    assert "nobody@refused.example: 550 5.1.1 No such user here" in results[0].detail
    assert "550" in results[1].detail
    received = smtp_server.wait_for(2)
    assert [mail.rcpt_tos for mail in received] == [("customer1@example.com",), ("customer3@example.com",)]
    assert len(pipelined) == (3 if smtp_server.pipelining else 0)


# -- delivery ------------------------------------------------------------------------


def test_a_batch_of_twenty_goes_out_over_one_connection(smtp_server) -> None:
    mails = [acknowledgement(n) for n in range(20)]

    results = SmtpTransport(smtp_settings(smtp_server)).send_batch(mails)

    assert outcomes(results) == [SendOutcome.SENT] * 20
    assert [result.outbox_id for result in results] == [mail.outbox_id for mail in mails]
    received = smtp_server.wait_for(20)
    assert smtp_server.connections == 1
    assert {mail.connection for mail in received} == {1}
    assert [mail.raw for mail in received] == [mail.raw for mail in mails]
    assert received[3].mail_from == SENDER
    assert received[3].rcpt_tos == ("customer3@example.com",)


def test_batch_size_limits_mails_per_connection(smtp_server) -> None:
    transport = SmtpTransport(smtp_settings(smtp_server, batch_size=4))

    results = transport.send_batch([acknowledgement(n) for n in range(10)])

    assert outcomes(results) == [SendOutcome.SENT] * 10
    assert smtp_server.connections == 3


def test_eight_bit_chinese_mail_arrives_byte_for_byte(smtp_server) -> None:
    message = EmailMessage(policy=SMTP_POLICY.clone(cte_type="8bit"))
    message["From"] = SENDER
    message["To"] = "customer1@example.com"
    message["Subject"] = "回复"
    message.set_content("您好，我们已收到您的投诉。", cte="8bit")
    raw = message.as_bytes()
    assert not raw.isascii()  # really 8-bit on the wire

    results = SmtpTransport(smtp_settings(smtp_server)).send_batch(
        [OutgoingMail("out-zh", "WLT-1", "ack_first", "<zh@x>", SENDER, ("customer1@example.com",), raw)]
    )

    assert outcomes(results) == [SendOutcome.SENT]
    assert smtp_server.wait_for(1)[0].raw == raw


def test_on_accepted_is_called_for_each_accepted_mail_only(smtp_server) -> None:
    accepted: list[str] = []
    transport = SmtpTransport(smtp_settings(smtp_server), on_accepted=accepted.append)

    transport.send_batch([acknowledgement(1), acknowledgement(2)])
    smtp_server.fault = "550"
    transport.send_batch([acknowledgement(3)])

    assert accepted == ["out-0001", "out-0002"]


# -- what the server says --------------------------------------------------------------


def test_temporary_failure_451_means_retry(smtp_server) -> None:
    smtp_server.fault = "451"

    results = SmtpTransport(smtp_settings(smtp_server)).send_batch([acknowledgement(1), acknowledgement(2)])

    assert outcomes(results) == [SendOutcome.RETRY, SendOutcome.RETRY]
    assert results[0].detail.startswith("451 4.3.0 Temporary failure")
    assert smtp_server.received == []


def test_permanent_failure_550_means_failed_with_the_servers_answer(smtp_server) -> None:
    smtp_server.fault = "550"

    [result] = SmtpTransport(smtp_settings(smtp_server)).send_batch([acknowledgement(1)])

    assert result.outcome is SendOutcome.FAILED
    assert result.detail == "550 5.7.1 Message rejected by policy"


def test_server_down_means_retry_and_the_next_batch_goes_out(smtp_server) -> None:
    transport = SmtpTransport(smtp_settings(smtp_server))
    smtp_server.stop()

    down = transport.send_batch([acknowledgement(1), acknowledgement(2)])
    smtp_server.start()
    back = transport.send_batch([acknowledgement(1), acknowledgement(2)])

    assert outcomes(down) == [SendOutcome.RETRY, SendOutcome.RETRY]
    assert "cannot connect to 127.0.0.1:" in down[0].detail
    assert outcomes(back) == [SendOutcome.SENT, SendOutcome.SENT]
    assert len(smtp_server.wait_for(2)) == 2


def test_a_dropped_connection_is_reopened_while_it_makes_progress_without_duplicates(smtp_server) -> None:
    smtp_server.max_messages_per_connection = 5  # answers 421 and hangs up on the 6th MAIL FROM
    mails = [acknowledgement(n) for n in range(12)]

    results = SmtpTransport(smtp_settings(smtp_server)).send_batch(mails)

    # Each connection delivered mail, so another is opened (before: one reconnect per
    # batch, and the last two mails went into backoff as if they had been tried).
    assert outcomes(results) == [SendOutcome.SENT] * 12
    received = smtp_server.wait_for(12)
    assert [mail.raw for mail in received] == [mail.raw for mail in mails]  # each once, in order
    assert smtp_server.connections == 3


@pytest.fixture
def silent_server() -> Iterator[tuple[str, int]]:
    """Accepts TCP connections and never sends a greeting."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept_forever() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept_forever, daemon=True)
    thread.start()
    yield listener.getsockname()[:2]
    stop.set()
    thread.join(timeout=2)
    for connection in accepted:
        connection.close()
    listener.close()


def test_a_server_that_never_answers_means_retry_after_the_timeout(silent_server) -> None:
    host, port = silent_server
    settings = SmtpSettings(kind="smtp", host=host, port=port, security="plain", timeout=1.0)

    started = time.monotonic()
    results = SmtpTransport(settings).send_batch([acknowledgement(1), acknowledgement(2)])
    waited = time.monotonic() - started

    assert outcomes(results) == [SendOutcome.RETRY, SendOutcome.RETRY]
    assert "timed out after 1s" in results[0].detail
    assert waited < 5  # one connect attempt for the batch, bounded by the setting


# -- authentication ------------------------------------------------------------------


def test_auth_logs_in_with_the_configured_user(smtp_factory) -> None:
    server = smtp_factory(auth_required=True)
    settings = smtp_settings(server, username=server.user, password=Secret(server.password))

    results = SmtpTransport(settings).send_batch([acknowledgement(1)])

    assert outcomes(results) == [SendOutcome.SENT]
    assert server.wait_for(1)[0].login == server.user
    assert (
        SmtpTransport(settings).check()
        == f"SMTP ok: {server.host}:{server.port} (plain, logged in as mailer)"
    )


def test_wrong_smtp_password_is_reported_and_mail_is_kept_for_retry(smtp_factory) -> None:
    server = smtp_factory(auth_required=True)
    settings = smtp_settings(server, username=server.user, password=Secret("wrong-password"))

    with pytest.raises(TransportError, match="authentication failed for user mailer") as raised:
        SmtpTransport(settings).check()
    results = SmtpTransport(settings).send_batch([acknowledgement(1)])

    assert "wrong-password" not in str(raised.value)
    assert outcomes(results) == [SendOutcome.RETRY]
    assert "authentication failed" in results[0].detail
    assert server.received == []


def test_missing_login_on_a_server_that_requires_it_is_not_a_permanent_failure(smtp_factory) -> None:
    server = smtp_factory(auth_required=True)

    [result] = SmtpTransport(smtp_settings(server)).send_batch([acknowledgement(1)])

    assert result.outcome is SendOutcome.RETRY
    assert result.detail.startswith("530")


def test_check_on_a_stopped_server_says_cannot_connect(smtp_server) -> None:
    smtp_server.stop()

    with pytest.raises(TransportError, match=f"cannot connect to 127.0.0.1:{smtp_server.port}"):
        SmtpTransport(smtp_settings(smtp_server)).check()


# -- TLS -------------------------------------------------------------------------------


def test_starttls_with_the_ca_file_delivers(smtp_factory, tls_certificate) -> None:
    server = smtp_factory(certificate=tls_certificate, tls="starttls", auth_required=True)
    settings = smtp_settings(
        server,
        security="starttls",
        ca_file=str(tls_certificate.cert_file),
        username=server.user,
        password=Secret(server.password),
    )

    results = SmtpTransport(settings).send_batch([acknowledgement(1)])

    assert outcomes(results) == [SendOutcome.SENT]
    assert server.wait_for(1)[0].login == server.user


def test_the_tls_context_is_built_once_for_every_batch_and_never_for_plain(
    smtp_factory, tls_certificate, monkeypatch
) -> None:
    """Loading the CAs costs tens of milliseconds and a connection is opened per batch
    (one mail under IDLE): the transport builds its TLS context once."""
    import inbox_agent.adapters.smtp as smtp_module

    built: list[str] = []
    real = smtp_module.tls_client_context
    monkeypatch.setattr(smtp_module, "tls_client_context", lambda *a: built.append("tls") or real(*a))
    server = smtp_factory(certificate=tls_certificate, tls="starttls")
    transport = SmtpTransport(
        smtp_settings(server, security="starttls", ca_file=str(tls_certificate.cert_file))
    )
    for number in range(3):
        assert outcomes(transport.send_batch([acknowledgement(number)])) == [SendOutcome.SENT]
    assert len(server.wait_for(3)) == 3
    assert built == ["tls"]
    plain = smtp_factory()
    assert outcomes(SmtpTransport(smtp_settings(plain)).send_batch([acknowledgement(9)])) == [
        SendOutcome.SENT
    ]
    assert built == ["tls"]


def test_implicit_tls_with_the_ca_file_delivers(smtp_factory, tls_certificate) -> None:
    server = smtp_factory(certificate=tls_certificate, tls="implicit")
    settings = smtp_settings(server, security="tls", ca_file=str(tls_certificate.cert_file))

    assert outcomes(SmtpTransport(settings).send_batch([acknowledgement(1)])) == [SendOutcome.SENT]
    assert SmtpTransport(settings).check().startswith("SMTP ok")


def test_untrusted_certificate_is_a_tls_error(smtp_factory, tls_certificate) -> None:
    server = smtp_factory(certificate=tls_certificate, tls="starttls")

    with pytest.raises(TransportError, match="^TLS handshake .* failed: .*certificate verify failed"):
        SmtpTransport(smtp_settings(server, security="starttls")).check()


def test_starttls_against_a_server_without_it_is_a_tls_error(smtp_server) -> None:
    with pytest.raises(TransportError, match="^TLS: .* does not offer STARTTLS"):
        SmtpTransport(smtp_settings(smtp_server, security="starttls")).check()


# -- directory transport --------------------------------------------------------------


def directory_settings(folder: Path) -> SmtpSettings:
    return SmtpSettings(kind="directory", directory=folder)


def test_directory_transport_writes_private_eml_files(tmp_path) -> None:
    outbox = tmp_path / "outbox"
    mails = [acknowledgement(n) for n in range(3)]

    results = DirectoryTransport(directory_settings(outbox)).send_batch(mails)

    assert outcomes(results) == [SendOutcome.SENT] * 3
    assert stat.S_IMODE(outbox.stat().st_mode) == 0o700
    for mail in mails:
        written = outbox / f"{mail.outbox_id}.eml"
        assert written.read_bytes() == mail.raw
        assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert sorted(os.listdir(outbox)) == ["out-0000.eml", "out-0001.eml", "out-0002.eml"]  # no temp files


def test_directory_transport_is_idempotent(tmp_path) -> None:
    transport = DirectoryTransport(directory_settings(tmp_path / "outbox"))
    first = acknowledgement(1)
    transport.send_batch([first])
    second_attempt = OutgoingMail(**{**first.__dict__, "raw": b"different bytes"})

    [result] = transport.send_batch([second_attempt])

    assert result.outcome is SendOutcome.SENT
    assert "already written" in result.detail
    assert (tmp_path / "outbox" / "out-0001.eml").read_bytes() == first.raw


def test_directory_transport_refuses_ids_that_would_escape_the_folder(tmp_path) -> None:
    evil = OutgoingMail(**{**acknowledgement(1).__dict__, "outbox_id": "../../etc/cron.d/x"})

    [result] = DirectoryTransport(directory_settings(tmp_path / "outbox")).send_batch([evil])

    assert result.outcome is SendOutcome.FAILED
    assert list(tmp_path.rglob("*")) == [tmp_path / "outbox"]


def test_directory_transport_check(tmp_path) -> None:
    assert DirectoryTransport(directory_settings(tmp_path / "o")).check() == (
        f"directory ok: mails are written to {tmp_path / 'o'}"
    )
