"""IMAP faults between the daemon and a real Dovecot: silence, cuts, a restart.

Faults are made by ``tcpproxy.TcpProxy`` in front of the real server. Every silent
call must end within the configured timeout as a ``MailboxError`` (never hang,
never another exception), and the next call must reconnect and work.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import cli, cli_json, complaint, start_daemon, write_config
from servers import DovecotServer
from tcpproxy import Fault, TcpProxy

from inbox_agent.adapters.imap import ImapMailbox
from inbox_agent.adapters.tinydb_store import Store
from inbox_agent.config.settings import ImapSettings, Secret
from inbox_agent.services.ports import MailboxError

pytestmark = pytest.mark.dovecot

TIMEOUT = 1.0
# Generous upper bound for "within the configured timeout": one timed-out call plus
# the drop of the connection; far below the OS default of minutes.
BOUND = TIMEOUT * 6


@pytest.fixture
def proxy(dovecot: DovecotServer) -> Iterator[TcpProxy]:
    with TcpProxy(dovecot.host, dovecot.port) as running:
        yield running


def _mail(number: int) -> bytes:
    return complaint(
        f"customer{number}@example.com",
        f"Payment failed #{number}",
        f"My payment {number} failed with error E{number:04d}.\n" + "padding line\n" * 200,
        message_id=f"<fault-{number}@example.com>",
    )


def _mailbox(proxy: TcpProxy, dovecot: DovecotServer, **overrides: object) -> ImapMailbox:
    values: dict[str, object] = {
        "host": proxy.host,
        "port": proxy.port,
        "security": "plain",
        "username": dovecot.user,
        "password": Secret(dovecot.password),
        "timeout": TIMEOUT,
    }
    values.update(overrides)
    return ImapMailbox(ImapSettings(**values))  # type: ignore[arg-type]


def _times_out(call) -> MailboxError:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    with pytest.raises(MailboxError) as raised:
        call()
    assert time.monotonic() - started < BOUND
    return raised.value


@pytest.mark.parametrize("fault", ["silent_at_connect", "silent_after_login"])
def test_silent_server_at_connect_or_after_login_times_out_then_reconnects(
    dovecot: DovecotServer, proxy: TcpProxy, fault: Fault
) -> None:
    dovecot.append(_mail(1))
    mailbox = _mailbox(proxy, dovecot)
    proxy.arm(fault)
    try:
        error = _times_out(mailbox.open)
        assert "timed out after 1s" in str(error)
        assert proxy.faults_struck == 1
        # The next cycle: a fresh connection through the (now healthy) proxy.
        state = mailbox.open()
        assert [ref.uid for ref in mailbox.list_new(0)] == dovecot.uids()
        assert state.uidvalidity > 0
    finally:
        mailbox.close()


def test_silent_server_during_fetch_times_out_then_the_next_fetch_gets_every_mail(
    dovecot: DovecotServer, proxy: TcpProxy
) -> None:
    raws = [_mail(n) for n in range(3)]
    dovecot.append_many(raws)
    mailbox = _mailbox(proxy, dovecot)
    try:
        mailbox.open()
        refs = mailbox.list_new(0)
        proxy.arm("silent_during_fetch", allowed_bytes=500)
        mailbox.close()  # the next connection is the faulty one
        mailbox.open()
        error = _times_out(lambda: list(mailbox.fetch(refs, 10_000_000)))
        assert "timed out after 1s while FETCH" in str(error)
        fetched = list(mailbox.fetch(refs, 10_000_000))
        assert [item.raw for item in fetched] == [raw.replace(b"\n", b"\r\n") for raw in raws]
    finally:
        mailbox.close()


def test_silent_server_during_idle_times_out_then_the_next_poll_works(
    dovecot: DovecotServer, proxy: TcpProxy
) -> None:
    mailbox = _mailbox(proxy, dovecot, idle=True, idle_timeout=0.3)
    proxy.arm("silent_during_idle")
    try:
        mailbox.open()
        error = _times_out(lambda: mailbox.wait_for_new(0.3))
        assert "timed out after 1s while IDLE" in str(error)
        assert proxy.faults_struck == 1
        dovecot.append(_mail(7))
        mailbox.open()
        assert len(mailbox.list_new(0)) == 1
    finally:
        mailbox.close()


def _stored_counts(config: Path) -> tuple[int, int, int]:
    """(cases, incoming messages, raw mails kept) in the data dir."""
    cases = cli_json(config, "cases")
    incoming = 0
    for case in cases:
        shown = cli_json(config, "show", case["case_id"])
        incoming += sum(1 for message in shown["messages"] if message["direction"] == "in")
    data = config.parent / "data"
    blobs = Store(data, read_only=True).stored_blobs() if data.exists() else set()
    return len(cases), incoming, len(blobs)


def test_connection_cut_mid_fetch_stores_nothing_partial_then_each_mail_once(
    dovecot: DovecotServer, proxy: TcpProxy, tmp_path: Path
) -> None:
    config = write_config(tmp_path, dovecot=proxy_as_server(proxy, dovecot))
    dovecot.append_many([_mail(n) for n in range(4)])
    proxy.arm("cut_mid_fetch", allowed_bytes=1500)

    first = cli(config, "run", "--once")
    assert proxy.faults_struck == 1
    assert first.returncode == 1, first.stdout + first.stderr
    assert "lost while FETCH" in cli_json(config, "status")["mailbox"]
    assert _stored_counts(config) == (0, 0, 0)  # no half mail stored, nothing quarantined
    assert cli_json(config, "quarantine") == []
    assert all(b"$InboxAgentDone" not in dovecot.flags(uid) for uid in dovecot.uids())

    second = cli(config, "run", "--once")
    assert second.returncode == 0, second.stdout + second.stderr
    cases, incoming, _ = _stored_counts(config)
    assert (cases, incoming) == (4, 4)
    assert all(b"$InboxAgentDone" in dovecot.flags(uid) for uid in dovecot.uids())
    assert cli(config, "run", "--once").returncode == 0
    assert _stored_counts(config)[:2] == (4, 4)


class _Endpoint:
    """What ``write_config`` needs to know about an IMAP server (here: the proxy)."""

    def __init__(self, host: str, port: int, user: str, password: str) -> None:
        self.host, self.port, self.user, self.password = host, port, user, password


def proxy_as_server(proxy: TcpProxy, dovecot: DovecotServer) -> _Endpoint:
    return _Endpoint(proxy.host, proxy.port, dovecot.user, dovecot.password)


def _wait_for_cases(config: Path, count: int, timeout: float) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        result = cli(config, "cases", "--json")
        if result.returncode == 0:
            import json

            cases = json.loads(result.stdout)
            if len(cases) >= count or time.monotonic() > deadline:
                return cases
        elif time.monotonic() > deadline:
            return []
        time.sleep(0.3)


def test_dovecot_restarted_during_a_daemon_run_the_daemon_carries_on(
    dovecot: DovecotServer, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path,
        dovecot=dovecot,
        overrides={"mailbox": {"backoff_initial": "1s", "backoff_max": "2s"}},
    )
    dovecot.append(_mail(1))
    daemon = start_daemon(config)
    try:
        assert len(_wait_for_cases(config, 1, 30)) == 1
        dovecot.restart()
        dovecot.append_many([_mail(2), _mail(3)])
        cases = _wait_for_cases(config, 3, 30)
        assert sorted(case["customer"] for case in cases) == [
            "customer1@example.com",
            "customer2@example.com",
            "customer3@example.com",
        ]
        assert daemon.poll() is None  # still running: the outage was not fatal
    finally:
        daemon.send_signal(signal.SIGTERM)
        output = daemon.communicate(timeout=20)[0].decode(errors="replace")
    assert daemon.returncode == 0, output
    assert cli_json(config, "status")["mailbox"] == "ok"
