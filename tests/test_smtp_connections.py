"""A batch of outgoing mail over several SMTP connections at once ([smtp] connections),
against a real aiosmtpd server: every mail once, a customer's mails in order, and a
relay that takes fewer connections than asked loses nothing and is asked for fewer."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import pytest
from helpers import write_config
from hypothesis import given, settings
from hypothesis import strategies as st
from servers import SmtpServer

from inbox_agent.adapters.smtp import SmtpTransport
from inbox_agent.adapters.smtp_connections import recipient_groups
from inbox_agent.config.loader import ConfigError, load_config
from inbox_agent.config.settings import SmtpSettings
from inbox_agent.domain.model import OutgoingMail, SendOutcome

SENDER = "complaints@wallet.example"


def mail(number: int, customer: int | None = None, kind: str = "ack_first") -> OutgoingMail:
    to = f"customer{number if customer is None else customer}@example.com"
    message_id = f"<{kind}-{number}@wallet.example>"
    raw = (
        f"From: {SENDER}\r\nTo: {to}\r\nSubject: [WLT-2026-{number:06d}] {kind}\r\n"
        f"Message-ID: {message_id}\r\n\r\nmail {number}\r\n"
    ).encode()
    return OutgoingMail(f"out-{number:04d}", f"WLT-2026-{number:06d}", kind, message_id, SENDER, (to,), raw)


def settings_for(server: SmtpServer, connections: int, **overrides: object) -> SmtpSettings:
    values = {"security": "plain", "timeout": 5.0, "connections": connections} | overrides
    return SmtpSettings(kind="smtp", host=server.host, port=server.port, **values)  # type: ignore[arg-type]


@pytest.fixture(params=[False, True], ids=["one-command-at-a-time", "pipelining"])
def server(request: pytest.FixtureRequest, smtp_factory: Callable[..., SmtpServer]) -> SmtpServer:
    return smtp_factory(pipelining=request.param)


def test_a_batch_goes_out_over_three_connections_each_mail_once(server: SmtpServer) -> None:
    mails = [mail(n) for n in range(30)]

    results = SmtpTransport(settings_for(server, 3)).send_batch(mails)

    assert [r.outbox_id for r in results] == [m.outbox_id for m in mails]
    assert {r.outcome for r in results} == {SendOutcome.SENT}
    received = server.wait_for(30)
    assert sorted(r.raw for r in received) == sorted(m.raw for m in mails)
    assert server.connections == 3
    assert server.most_at_once >= 2  # at the same time, not one after another
    per_connection = [sum(r.connection == n for r in received) for n in (1, 2, 3)]
    assert sorted(per_connection) == [10, 10, 10]


def test_a_customers_mails_go_over_one_connection_in_order(server: SmtpServer) -> None:
    mails = [mail(n) for n in range(12)]
    # customer 5 wrote three times: the acknowledgements must arrive in that order
    mails[3] = mail(3, customer=5, kind="ack_followup")
    mails[9] = mail(9, customer=5, kind="ack_followup")

    results = SmtpTransport(settings_for(server, 3)).send_batch(mails)

    assert {r.outcome for r in results} == {SendOutcome.SENT}
    received = server.wait_for(12)
    to_five = [r for r in received if r.rcpt_tos == ("customer5@example.com",)]
    assert [r.raw for r in to_five] == [mails[3].raw, mails[5].raw, mails[9].raw]
    assert len({r.connection for r in to_five}) == 1


def test_a_relay_that_takes_one_connection_loses_nothing_and_is_then_asked_for_one(
    server: SmtpServer,
) -> None:
    """Connections over the relay's limit are greeted 421: their mails go over a
    connection it took, after it, or are retried as after any 421; none is lost or sent
    twice, and the transport asks for fewer connections until the relay refuses none."""
    server.sessions_at_once = 1
    transport = SmtpTransport(settings_for(server, 3))
    connections_per_batch: list[int] = []
    sent: list[OutgoingMail] = []
    for batch in range(4):
        server.wait_until_closed()  # as the next batch (or a retry a minute later) finds it
        server.clear()
        waiting = [mail(n) for n in range(batch * 100, batch * 100 + 30)]
        for _attempt in range(3):
            results = transport.send_batch(waiting)
            assert {r.outcome for r in results} <= {SendOutcome.SENT, SendOutcome.RETRY}
            sent += [m for m, r in zip(waiting, results, strict=True) if r.outcome == SendOutcome.SENT]
            waiting = [m for m, r in zip(waiting, results, strict=True) if r.outcome == SendOutcome.RETRY]
            if not waiting:
                break
            server.wait_until_closed()
        assert not waiting
        server.wait_for(30)
        connections_per_batch.append(server.connections)
    assert len(sent) == len({m.outbox_id for m in sent}) == 120
    assert connections_per_batch[-1] == 1  # asked for no more than it takes
    assert connections_per_batch == sorted(connections_per_batch, reverse=True)


def send_all(transport: SmtpTransport, server: SmtpServer, first: int, count: int = 30) -> int:
    """Send ``count`` new mails until none is left to retry; the sessions the last try used."""
    waiting = [mail(n) for n in range(first, first + count)]
    for _attempt in range(3):
        server.wait_until_closed()
        server.clear()
        results = transport.send_batch(waiting)
        assert {r.outcome for r in results} <= {SendOutcome.SENT, SendOutcome.RETRY}
        waiting = [m for m, r in zip(waiting, results, strict=True) if r.outcome == SendOutcome.RETRY]
        if not waiting:
            return server.connections
    raise AssertionError(f"{len(waiting)} mails still not sent")


def lowered_to_one(transport: SmtpTransport, server: SmtpServer) -> None:
    """Batches through a relay that takes one connection at a time until the transport
    asks for one (each refusal lowers it; connections arriving together may both be taken)."""
    server.sessions_at_once = 1
    for batch in range(5):
        if send_all(transport, server, 1000 + batch * 100) == 1:  # one group: one session
            return
    raise AssertionError("the transport still asks for more than one connection")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_connections_rise_again_one_at_a_time_once_the_relay_stops_refusing(server: SmtpServer) -> None:
    """A relay's limit counts every client on our address: once it has refused none for
    ten minutes, one more connection is asked for, up to [smtp] connections."""
    clock = Clock()
    transport = SmtpTransport(settings_for(server, 3), clock=clock)
    lowered_to_one(transport, server)
    server.sessions_at_once = None  # the other client is gone

    clock.now += 300  # not yet
    assert send_all(transport, server, 200) == 1
    clock.now += 301
    assert send_all(transport, server, 300) == 2
    assert send_all(transport, server, 400) == 2  # the next step waits another period
    clock.now += 601
    assert send_all(transport, server, 500) == 3
    clock.now += 601
    assert send_all(transport, server, 600) == 3  # never more than configured


def test_a_relay_still_refusing_costs_one_connection_per_period_and_no_mail(
    server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    transport = SmtpTransport(settings_for(server, 3), clock=clock)
    lowered_to_one(transport, server)
    clock.now += 601
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="inbox_agent.adapters.smtp"):
        send_all(transport, server, 100)  # every mail goes out (send_all checks)
    assert [r.getMessage().split("; ")[-1] for r in caplog.records] == ["using 2", "using 1"]
    assert "refused 1 of 2 connections" in caplog.text
    assert send_all(transport, server, 200) == 1  # and it waits another period


def test_a_small_batch_does_not_lower_the_connections(server: SmtpServer) -> None:
    """Two mails go over two connections: that is not the relay refusing the third."""
    transport = SmtpTransport(settings_for(server, 3))
    assert send_all(transport, server, 0, count=2) == 2
    assert send_all(transport, server, 100) == 3


def test_a_relay_that_is_down_means_retry_for_every_mail(server: SmtpServer) -> None:
    server.stop()
    results = SmtpTransport(settings_for(server, 3, timeout=2.0)).send_batch([mail(n) for n in range(6)])
    assert [r.outcome for r in results] == [SendOutcome.RETRY] * 6
    assert all("connect" in r.detail for r in results), results[0].detail


def test_accepted_mails_are_reported_one_at_a_time(server: SmtpServer) -> None:
    """The accepted-mail log is written from every connection: never two writers at once."""
    inside = threading.Event()
    overlaps: list[str] = []
    reported: list[str] = []

    def on_accepted(outbox_id: str) -> None:
        if inside.is_set():
            overlaps.append(outbox_id)
        inside.set()
        time.sleep(0.002)  # long enough for another connection's 250 to arrive meanwhile
        reported.append(outbox_id)
        inside.clear()

    mails = [mail(n) for n in range(24)]
    SmtpTransport(settings_for(server, 3), on_accepted=on_accepted).send_batch(mails)

    assert not overlaps
    assert sorted(reported) == sorted(m.outbox_id for m in mails)


def test_one_mail_opens_one_connection(server: SmtpServer) -> None:
    SmtpTransport(settings_for(server, 3)).send_batch([mail(1)])
    server.wait_for(1)
    assert server.connections == 1


@settings(max_examples=200, deadline=None)
@given(
    customers=st.lists(st.integers(min_value=0, max_value=8), max_size=40),
    count=st.integers(min_value=1, max_value=5),
)
def test_groups_keep_each_customer_together_and_in_order(customers: list[int], count: int) -> None:
    mails = [mail(n, customer=c) for n, c in enumerate(customers)]
    groups = recipient_groups(mails, count)
    assert sorted(m.outbox_id for g in groups for m in g) == sorted(m.outbox_id for m in mails)
    assert len(groups) <= count and all(groups)
    for group in groups:
        assert [m.outbox_id for m in group] == sorted(m.outbox_id for m in group)  # mail order kept
    owners = {m.recipients: index for index, group in enumerate(groups) for m in group}
    assert all(owners[m.recipients] == index for index, group in enumerate(groups) for m in group)
    if len(set(customers)) == len(customers) and customers:  # all different: near-equal sizes
        sizes = [len(g) for g in groups]
        assert max(sizes) - min(sizes) <= 1


def test_connections_is_read_and_checked_in_the_config(tmp_path, server: SmtpServer) -> None:
    def config(value: int) -> object:
        folder = tmp_path / f"c{value}"
        folder.mkdir()
        path = write_config(
            folder, smtp=server, maildir=folder / "maildir", overrides={"smtp": {"connections": value}}
        )
        return load_config(path)

    assert config(5).smtp.connections == 5  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="connections"):
        config(0)


def test_tls_connections_share_one_context(
    smtp_factory, tls_certificate, monkeypatch: pytest.MonkeyPatch
) -> None:
    import inbox_agent.adapters.smtp as smtp_module

    built: list[str] = []
    real = smtp_module.tls_client_context
    monkeypatch.setattr(smtp_module, "tls_client_context", lambda *a: built.append("tls") or real(*a))
    server = smtp_factory(certificate=tls_certificate, tls="starttls")
    settings = settings_for(server, 3, security="starttls", ca_file=str(tls_certificate.cert_file))
    results = SmtpTransport(settings).send_batch([mail(n) for n in range(12)])
    assert {r.outcome for r in results} == {SendOutcome.SENT}
    assert len(server.wait_for(12)) == 12 and server.connections == 3
    assert built == ["tls"]
