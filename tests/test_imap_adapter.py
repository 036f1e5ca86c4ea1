"""The IMAP adapter against a real Dovecot: what ops and the daemon rely on."""

from __future__ import annotations

import logging
import random
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY

import pytest
from servers import DovecotServer

from inbox_agent.adapters.imap import ImapMailbox, compact_uid_set
from inbox_agent.config.settings import ImapSettings, Secret
from inbox_agent.domain.backoff import backoff_delays
from inbox_agent.services.ports import MailboxError

KEYWORD = b"$InboxAgentDone"


def complaint(number: int, body_bytes: int = 300) -> bytes:
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = f"customer{number}@example.com"
    message["To"] = "complaints@wallet.example"
    message["Subject"] = f"Payment failed #{number}"
    message["Message-ID"] = f"<complaint-{number}@example.com>"
    message.set_content(f"Complaint {number}: my transfer failed.\n" + "x" * body_bytes + "\n")
    return message.as_bytes()


def settings_for(server: DovecotServer, **overrides: object) -> ImapSettings:
    values: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "security": "plain",
        "username": server.user,
        "password": Secret(server.password),
        "timeout": 5.0,
    }
    values.update(overrides)
    return ImapSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def mailbox_for() -> Iterator:
    """``mailbox_for(server, **settings)`` -> an ImapMailbox closed after the test."""
    opened: list[ImapMailbox] = []

    def build(server: DovecotServer, **overrides: object) -> ImapMailbox:
        mailbox = ImapMailbox(settings_for(server, **overrides))
        opened.append(mailbox)
        return mailbox

    yield build
    for mailbox in opened:
        mailbox.close()


@pytest.fixture
def thirty(dovecot: DovecotServer) -> list[tuple[int, bytes]]:
    raws = [complaint(n) for n in range(30)]
    uids = dovecot.append_many(raws)
    return list(zip(uids, raws, strict=True))


# -- listing and fetching ------------------------------------------------------


def test_lists_and_fetches_all_thirty_mails_unchanged(dovecot, mailbox_for, thirty) -> None:
    mailbox = mailbox_for(dovecot, batch_size=7)  # several FETCH batches
    state = mailbox.open()
    assert state.name == "INBOX"
    assert state.uidvalidity > 0
    assert state.uidnext == thirty[-1][0] + 1

    refs = mailbox.list_new(after_uid=0)

    assert [ref.uid for ref in refs] == [uid for uid, _ in thirty]
    assert [ref.size for ref in refs] == [len(raw) for _, raw in thirty]
    assert all(ref.key == str(ref.uid) for ref in refs)
    now = datetime.now(UTC)
    assert all(
        ref.internal_date is not None and abs(ref.internal_date - now) < timedelta(minutes=5) for ref in refs
    )
    fetched = list(mailbox.fetch(refs, max_size=10_000_000))
    assert [mail.ref for mail in fetched] == refs
    assert [mail.raw for mail in fetched] == [raw for _, raw in thirty]


def test_fetch_does_not_mark_mail_as_seen(dovecot, mailbox_for, thirty) -> None:
    mailbox = mailbox_for(dovecot)
    mailbox.open()
    list(mailbox.fetch(mailbox.list_new(0), max_size=10_000_000))
    mailbox.close()

    assert all(b"\\Seen" not in dovecot.flags(uid) for uid, _ in thirty)


def test_lists_only_uids_after_the_checkpoint(dovecot, mailbox_for, thirty) -> None:
    mailbox = mailbox_for(dovecot)
    mailbox.open()
    checkpoint = thirty[9][0]

    assert [ref.uid for ref in mailbox.list_new(after_uid=checkpoint)] == [uid for uid, _ in thirty[10:]]


def test_checkpoint_at_or_beyond_the_highest_uid_lists_nothing(dovecot, mailbox_for, thirty) -> None:
    # "UID SEARCH UID 31:*" on a mailbox whose highest UID is 30 still answers 30.
    mailbox = mailbox_for(dovecot)
    mailbox.open()
    highest = thirty[-1][0]

    assert mailbox.list_new(after_uid=highest) == []
    assert mailbox.list_new(after_uid=highest + 100) == []


def test_since_keeps_only_mail_received_on_or_after_the_date(dovecot, mailbox_for) -> None:
    old = dovecot.append(complaint(1), msg_time=datetime(2020, 1, 10, 12, 0, tzinfo=UTC))
    middle = dovecot.append(complaint(2), msg_time=datetime(2024, 5, 1, 12, 0, tzinfo=UTC))
    recent = dovecot.append(complaint(3))
    mailbox = mailbox_for(dovecot)
    mailbox.open()

    refs = mailbox.list_new(after_uid=0, since=date(2024, 5, 1))

    assert [ref.uid for ref in refs] == [middle, recent]
    assert old not in [ref.uid for ref in refs]
    assert refs[0].internal_date == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_oversized_mail_is_listed_but_not_downloaded(dovecot, mailbox_for) -> None:
    small_before = complaint(1)
    huge = complaint(2, body_bytes=200_000)
    small_after = complaint(3)
    dovecot.append_many([small_before, huge, small_after])
    mailbox = mailbox_for(dovecot)
    mailbox.open()

    fetched = list(mailbox.fetch(mailbox.list_new(0), max_size=100_000))

    assert [mail.raw for mail in fetched] == [small_before, None, small_after]
    assert fetched[1].ref.size == len(huge)


# -- marking processed ------------------------------------------------------------


def test_flag_mode_adds_the_keyword_and_hides_the_mail_from_the_next_listing(
    dovecot, mailbox_for, thirty
) -> None:
    mailbox = mailbox_for(dovecot)
    mailbox.open()
    refs = mailbox.list_new(0)

    mailbox.mark_processed(refs[:12])

    assert [ref.uid for ref in mailbox.list_new(0)] == [uid for uid, _ in thirty[12:]]
    assert KEYWORD in dovecot.flags(thirty[0][0])
    assert b"\\Seen" not in dovecot.flags(thirty[0][0])
    assert len(dovecot.uids("INBOX")) == 30  # still in the inbox for the staff to see


def test_move_mode_creates_the_folder_and_moves_the_mail(dovecot, mailbox_for, thirty) -> None:
    mailbox = mailbox_for(dovecot, processed_action="move", processed_folder="Processed")
    mailbox.open()

    mailbox.mark_processed(mailbox.list_new(0)[:20])

    assert len(dovecot.uids("INBOX")) == 10
    assert len(dovecot.uids("Processed")) == 20
    assert [ref.uid for ref in mailbox.list_new(0)] == [uid for uid, _ in thirty[20:]]


def test_move_without_the_move_capability_copies_and_expunges(dovecot_factory, mailbox_for) -> None:
    server = dovecot_factory(extra_config="imap_capability = IMAP4rev1 IDLE UIDPLUS")
    server.append_many([complaint(n) for n in range(5)])
    mailbox = mailbox_for(server, processed_action="move")
    mailbox.open()

    mailbox.mark_processed(mailbox.list_new(0)[:3])

    assert len(server.uids("INBOX")) == 2
    assert len(server.uids("Processed")) == 3
    assert len(mailbox.list_new(0)) == 2


def test_move_without_uidplus_never_expunges_other_mail(dovecot_factory, mailbox_for) -> None:
    server = dovecot_factory(extra_config="imap_capability = IMAP4rev1 IDLE")
    uids = server.append_many([complaint(n) for n in range(4)])
    # Someone marked this one deleted in their mail client but did not expunge it.
    with server.client("INBOX") as client:
        client.add_flags([uids[3]], [b"\\Deleted"])
    mailbox = mailbox_for(server, processed_action="move")
    mailbox.open()

    mailbox.mark_processed([ref for ref in mailbox.list_new(0) if ref.uid in uids[:2]])

    assert len(server.uids("Processed")) == 2
    assert server.uids("INBOX") == uids  # nothing expunged behind anybody's back
    assert [ref.uid for ref in mailbox.list_new(0)] == uids[2:]


# -- identity and reconnection -------------------------------------------------------


def test_recreated_mailbox_reports_a_new_uidvalidity(dovecot, mailbox_for, thirty) -> None:
    mailbox = mailbox_for(dovecot)
    before = mailbox.open()
    mailbox.close()

    dovecot.recreate_mailbox("INBOX")
    fresh = dovecot.append(complaint(99))
    after = mailbox.open()

    assert after.uidvalidity != before.uidvalidity
    assert [ref.uid for ref in mailbox.list_new(0)] == [fresh]


def test_reconnects_after_the_server_restarted(dovecot, mailbox_for, thirty) -> None:
    mailbox = mailbox_for(dovecot)
    mailbox.open()
    dovecot.restart()

    with pytest.raises(MailboxError, match="lost while"):
        mailbox.list_new(0)
    mailbox.open()

    assert len(mailbox.list_new(0)) == 30


def test_server_down_is_a_connect_error(dovecot, mailbox_for) -> None:
    mailbox = mailbox_for(dovecot)
    dovecot.stop()

    with pytest.raises(MailboxError, match=f"cannot connect to 127.0.0.1:{dovecot.port}"):
        mailbox.open()


# -- errors ops must be able to read -----------------------------------------------------


def test_wrong_password_is_reported_as_a_login_failure(dovecot, mailbox_for) -> None:
    mailbox = mailbox_for(dovecot, password=Secret("not-the-password"))

    with pytest.raises(MailboxError, match="login failed for user agent") as raised:
        mailbox.open()
    assert "not-the-password" not in str(raised.value)


def test_closed_port_is_reported_as_a_connect_failure(mailbox_for) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: connections are refused
        server = DovecotServer.__new__(DovecotServer)
        server.host, server.port, server.user, server.password = "127.0.0.1", port, "agent", "secret"
        mailbox = mailbox_for(server)

        with pytest.raises(MailboxError, match=f"cannot connect to 127.0.0.1:{port}"):
            mailbox.check()


@pytest.fixture
def silent_server() -> Iterator[tuple[str, int]]:
    """Accepts TCP connections and never says a word (a hung server or a black-holing proxy)."""
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


def test_a_server_that_never_answers_times_out_after_the_configured_timeout(
    silent_server, mailbox_for
) -> None:
    host, port = silent_server
    server = DovecotServer.__new__(DovecotServer)
    server.host, server.port, server.user, server.password = host, port, "agent", "secret"
    mailbox = mailbox_for(server, timeout=1.0)

    started = time.monotonic()
    with pytest.raises(MailboxError, match="timed out after 1s") as raised:
        mailbox.open()
    waited = time.monotonic() - started

    assert "127.0.0.1" in str(raised.value)
    assert 0.9 <= waited < 5  # bounded by the setting, not by the OS default (minutes)


def test_check_reports_the_message_count_and_uidvalidity(dovecot, mailbox_for, thirty) -> None:
    mailbox = mailbox_for(dovecot)
    uidvalidity = mailbox.open().uidvalidity

    lines = mailbox.check().splitlines()
    assert lines[0] == f"IMAP ok: 30 messages in INBOX (UIDVALIDITY {uidvalidity})"
    # Then what the server offers and how the daemon will use it (test_imap_servers.py
    # covers servers that refuse keywords or keep folders under "INBOX.").
    assert [line.strip() for line in lines[1:]] == [
        "capabilities: IDLE yes, MOVE yes, UIDPLUS yes, NAMESPACE yes, SPECIAL-USE no, LIST-EXTENDED yes",
        "namespace: personal prefix '', separator '.'; special-use folders: none",
        "processed mail: keyword $InboxAgentDone (allowed by PERMANENTFLAGS)",
        "Sent folder: auto: the server marks no folder \\Sent (SPECIAL-USE): copies of our replies are not kept"
        " and replies written by hand are not read; set sent_folder (section mailbox.imap) to a folder name,"
        ' or to "" to say so',
        "waiting for mail: polling (idle = false)",
    ]


def test_the_password_never_reaches_the_logs(dovecot, mailbox_for, thirty, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    mailbox = mailbox_for(dovecot)
    mailbox.open()
    list(mailbox.fetch(mailbox.list_new(0), max_size=10_000_000))
    mailbox.close()
    with pytest.raises(MailboxError):
        mailbox_for(dovecot, password=Secret("hunter2-wrong")).open()

    assert "Logged in as agent" in caplog.text or "logged in to" in caplog.text
    assert dovecot.password not in caplog.text
    assert "hunter2-wrong" not in caplog.text


# -- IDLE ------------------------------------------------------------------------------


def test_idle_announces_mail_appended_from_another_connection(dovecot, mailbox_for) -> None:
    # Plain IDLE (a long window, not "auto"): the server's own announcement wakes us.
    mailbox = mailbox_for(dovecot, idle=True, idle_timeout=300.0)
    mailbox.open()
    delivery = threading.Timer(0.3, dovecot.append, args=(complaint(7),))
    delivery.start()

    started = time.monotonic()
    announced = mailbox.wait_for_new(timeout=10)
    waited = time.monotonic() - started
    delivery.join()

    assert announced is True
    assert waited < 9  # woke up on the announcement, not at the timeout
    assert len(mailbox.list_new(0)) == 1  # the connection is usable after IDLE


def test_idle_without_new_mail_returns_false_after_the_timeout(dovecot, mailbox_for) -> None:
    mailbox = mailbox_for(dovecot, idle=True)
    mailbox.open()

    assert mailbox.wait_for_new(timeout=0.5) is False
    assert mailbox.list_new(0) == []


def test_auto_renewal_ends_idle_on_dovecot_within_a_second_and_hears_new_mail_at_once(
    dovecot, mailbox_for
) -> None:
    # idle_timeout "auto" (None): Dovecot holds IDLE announcements 500 ms, so IDLE is
    # renewed every 0.25 s instead of waiting out the 10 s the caller allows.
    mailbox = mailbox_for(dovecot, idle=True)
    mailbox.open()

    started = time.monotonic()
    assert mailbox.wait_for_new(timeout=10) is False
    assert time.monotonic() - started < 5  # renewed, not the whole window

    dovecot.append(complaint(3))
    assert mailbox.wait_for_new(timeout=10) is True  # reported on the next look, not after 500 ms
    assert len(mailbox.list_new(0)) == 1


def test_without_idle_support_wait_for_new_just_sleeps(dovecot_factory, mailbox_for) -> None:
    server = dovecot_factory(extra_config="imap_capability = IMAP4rev1 UIDPLUS")
    mailbox = mailbox_for(server, idle=True)
    mailbox.open()
    threading.Timer(0.1, server.append, args=(complaint(1),)).start()

    assert mailbox.wait_for_new(timeout=0.6) is False
    assert len(mailbox.list_new(0)) == 1


# -- TLS ----------------------------------------------------------------------------


def test_starttls_with_the_ca_file_works(tls_dovecot, tls_certificate, mailbox_for) -> None:
    mailbox = mailbox_for(tls_dovecot, security="starttls", ca_file=str(tls_certificate.cert_file))

    assert mailbox.check().startswith("IMAP ok: 0 messages in INBOX")


def test_implicit_tls_with_the_ca_file_works(tls_dovecot, tls_certificate, mailbox_for) -> None:
    tls_dovecot.append(complaint(1))
    mailbox = mailbox_for(
        tls_dovecot, security="tls", port=tls_dovecot.tls_port, ca_file=str(tls_certificate.cert_file)
    )
    mailbox.open()

    assert [mail.raw for mail in mailbox.fetch(mailbox.list_new(0), 10_000_000)] == [complaint(1)]


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_untrusted_certificate_is_a_tls_handshake_failure(tls_dovecot, mailbox_for, security) -> None:
    port = tls_dovecot.tls_port if security == "tls" else tls_dovecot.port
    mailbox = mailbox_for(tls_dovecot, security=security, port=port)

    with pytest.raises(MailboxError, match="TLS handshake failed .*certificate verify failed"):
        mailbox.open()


def test_tls_verify_off_accepts_a_self_signed_certificate(tls_dovecot, mailbox_for) -> None:
    mailbox = mailbox_for(tls_dovecot, security="starttls", tls_verify=False)

    assert mailbox.check().startswith("IMAP ok")


def test_starttls_against_a_server_without_tls_is_refused(dovecot, mailbox_for) -> None:
    mailbox = mailbox_for(dovecot, security="starttls")

    with pytest.raises(MailboxError, match="TLS handshake failed .*STARTTLS"):
        mailbox.open()


# -- Sent folder ------------------------------------------------------------------


def test_append_sent_keeps_a_seen_copy_in_the_sent_folder(dovecot, mailbox_for) -> None:
    reply = complaint(5)
    mailbox = mailbox_for(dovecot, sent_folder="Sent")

    mailbox.append_sent(reply)

    [uid] = dovecot.uids("Sent")
    assert b"\\Seen" in dovecot.flags(uid, folder="Sent")
    with dovecot.client("Sent") as client:
        assert client.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"] == reply


def test_append_sent_without_a_sent_folder_stores_nothing(dovecot, mailbox_for) -> None:
    mailbox_for(dovecot).append_sent(complaint(5))

    with dovecot.client() as client:
        assert [name for _, _, name in client.list_folders()] == ["INBOX"]


# -- pure helpers -----------------------------------------------------------------


def test_compact_uid_set_collapses_runs() -> None:
    assert compact_uid_set([9, 1, 2, 3, 7, 10, 2]) == "1:3,7,9:10"
    assert compact_uid_set([42]) == "42"
    with pytest.raises(ValueError):
        compact_uid_set([])


def test_backoff_grows_exponentially_with_jitter_and_stays_capped() -> None:
    delays = backoff_delays(2.0, 60.0, rng=random.Random(7))
    first = [next(delays) for _ in range(10)]

    assert 1.8 <= first[0] <= 2.2
    assert 3.6 <= first[1] <= 4.4
    assert all(delay <= 60.0 for delay in first)
    assert first[-1] >= 54.0  # reached the cap (minus jitter)
    assert len({round(delay, 6) for delay in first[-4:]}) > 1  # jitter: not all identical
    with pytest.raises(ValueError):
        next(backoff_delays(0, 10))


def test_polling_pause_does_not_touch_a_server_that_is_down(dovecot, mailbox_for) -> None:
    mailbox = mailbox_for(dovecot, idle=False)
    dovecot.stop()

    assert mailbox.wait_for_new(timeout=0.2) is False
