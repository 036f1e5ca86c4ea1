"""SMTP PIPELINING (RFC 2920) for smtplib, which sends one command at a time.

MAIL, every RCPT and DATA go out in one write; their answers are read in order and
mean what they mean without pipelining, so the caller sees smtplib's own results
and exceptions (``SMTPSenderRefused``, ``SMTPRecipientsRefused``, ``SMTPDataError``).
Used only when the server offers PIPELINING in its EHLO answer.

Also what both paths share: the envelope's addresses as the server can take them
(``envelope``, checked before MAIL FROM), RSET after a failed mail, and what an
answer means (``outcome_for``, ``answer_text``).
"""

from __future__ import annotations

import contextlib
import smtplib
import time
from collections.abc import Iterator, Sequence
from typing import Any

from inbox_agent.domain.model import OutgoingMail, SendOutcome

CLOSING = 421  # "service closing the channel": the server hangs up after this answer


def pipelined_sendmail(
    smtp: smtplib.SMTP,
    from_addr: str,
    to_addrs: list[str],
    msg: bytes,
    mail_options: list[str],
    rcpt_options: list[str],
) -> dict[str, tuple[int, bytes]]:
    """smtplib's ``sendmail`` with the envelope pipelined; same results and exceptions."""
    (code, answer), refused, (data_code, data_answer) = _envelope(
        smtp, from_addr, to_addrs, len(msg), mail_options, rcpt_options
    )
    if data_code == 354 and (code != 250 or len(refused) == len(to_addrs)):
        # The server took DATA although the envelope failed: end it with no message.
        smtp.send(".\r\n")
        data_code, data_answer = smtp.getreply()
    if code != 250:
        _reset_unless_closing(smtp, data_code)
        raise smtplib.SMTPSenderRefused(code, answer, from_addr)
    if len(refused) == len(to_addrs):
        _reset_unless_closing(smtp, data_code)
        raise smtplib.SMTPRecipientsRefused(refused)
    if data_code != 354:
        _reset_unless_closing(smtp, data_code)
        raise smtplib.SMTPDataError(data_code, data_answer)
    smtp.data_started = True  # type: ignore[attr-defined]
    body = smtplib._quote_periods(msg)  # type: ignore[attr-defined]
    if body[-2:] != b"\r\n":
        body += b"\r\n"
    smtp.send(body + b".\r\n")
    code, answer = smtp.getreply()
    if code != 250:
        _reset_unless_closing(smtp, code)
        raise smtplib.SMTPDataError(code, answer)
    return refused


Reply = tuple[int, bytes]


def _envelope(
    smtp: smtplib.SMTP,
    from_addr: str,
    to_addrs: list[str],
    size: int,
    mail_options: list[str],
    rcpt_options: list[str],
) -> tuple[Reply, dict[str, Reply], Reply]:
    """MAIL, RCPT..., DATA in one write; their answers (MAIL's, the refused RCPTs',
    DATA's). A 421 closes the connection and raises at once: nothing more comes."""
    options = [*mail_options]
    if any(option.lower() == "smtputf8" for option in options):
        smtp.command_encoding = "utf-8"  # as smtplib's mail() does; only offered when the server has it
    if smtp.has_extn("size"):
        options.append(f"SIZE={size}")
    commands = [f"mail FROM:{smtplib.quoteaddr(from_addr)}{_options(options)}"]
    commands += [f"rcpt TO:{smtplib.quoteaddr(address)}{_options(rcpt_options)}" for address in to_addrs]
    commands.append("data")
    smtp.send("".join(f"{command}\r\n" for command in commands))
    mail_reply = smtp.getreply()
    if mail_reply[0] == CLOSING:
        smtp.close()  # the server is gone: nothing more to read
        raise smtplib.SMTPSenderRefused(*mail_reply, from_addr)
    refused: dict[str, Reply] = {}
    for address in to_addrs:
        rcpt_reply = smtp.getreply()
        if rcpt_reply[0] not in (250, 251):
            refused[address] = rcpt_reply
        if rcpt_reply[0] == CLOSING:
            smtp.close()
            raise smtplib.SMTPRecipientsRefused(refused)
    return mail_reply, refused, smtp.getreply()


def _options(options: Sequence[str]) -> str:
    return "".join(f" {option}" for option in options)


def _reset_unless_closing(smtp: smtplib.SMTP, code: int) -> None:
    """After a refused transaction: RSET for the next mail, or close on a 421."""
    if code == CLOSING:
        smtp.close()
    else:
        smtp._rset()  # type: ignore[attr-defined]


class UnsendableAddress(Exception):
    """An address that cannot go into the envelope on this connection."""


def envelope_address(address: str, smtputf8: bool) -> str:
    """``address`` as the envelope carries it. A non-ASCII domain is IDNA-encoded
    (``bücher.example`` -> ``xn--bcher-kva.example``): any server takes that, no
    SMTPUTF8 needed. A non-ASCII local part has no ASCII form, so it needs a server
    that offers SMTPUTF8 (RFC 6531). Raises ``UnsendableAddress`` otherwise: checked
    before MAIL FROM, because smtplib failing to encode an address after MAIL FROM
    leaves the transaction open and the next mail gets "503 nested MAIL command"."""
    if address.isascii():
        return address
    local, at, domain = address.rpartition("@")
    if not at:
        local, domain = domain, ""
    try:
        # The standard library's IDNA 2003 codec: no extra dependency, and the
        # domains customers write (umlauts, accents, CJK) encode the same in IDNA 2008.
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError as error:
        raise UnsendableAddress(f"{address}: the domain has no IDNA form ({error})") from error
    if not local.isascii() and not smtputf8:
        raise UnsendableAddress(f"{address}: a non-ASCII local part needs SMTPUTF8, which the server lacks")
    return f"{local}@{ascii_domain}" if at else local


def reset_transaction(connection: smtplib.SMTP) -> None:
    """RSET after a mail that did not go through: a transaction left open (MAIL FROM
    taken) makes the next mail's MAIL fail for good with "503 nested MAIL command".
    If RSET fails the connection is closed: the next mail then reconnects."""
    try:
        code, _ = connection.rset()
    except (OSError, smtplib.SMTPException):
        code = 0
    if code != 250:
        with contextlib.suppress(Exception):
            connection.close()


def envelope(mail: OutgoingMail, smtputf8: bool) -> tuple[str, list[str], dict[str, str]]:
    """Sender and recipients as the server can take them, and the recipients that
    cannot be sent with why. Raises ``UnsendableAddress`` for the sender, or when no
    recipient is left: the mail cannot go at all."""
    sender = envelope_address(mail.sender, smtputf8)
    recipients: list[str] = []
    unsendable: dict[str, str] = {}
    for address in mail.recipients:
        try:
            recipients.append(envelope_address(address, smtputf8))
        except UnsendableAddress as error:
            unsendable[address] = str(error)
    if not recipients:
        raise UnsendableAddress("; ".join(unsendable.values()))
    return sender, recipients, unsendable


def mail_options(connection: smtplib.SMTP, raw: bytes, addresses: Sequence[str]) -> list[str]:
    options: list[str] = []
    if not raw.isascii() and connection.has_extn("8bitmime"):
        options.append("BODY=8BITMIME")
    if not all(address.isascii() for address in addresses):  # only if the server offers it (envelope)
        options.append("SMTPUTF8")
    return options


# 5xx answers that blame our login, not the mail: giving up on every customer's
# acknowledgement because of a wrong SMTP password would lose them all.
OUR_CONFIG_PROBLEM = frozenset({530, 535})


def timed_out(error: BaseException) -> bool:
    """smtplib reports a read timeout as SMTPServerDisconnected; the timeout is its context."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, TimeoutError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def outcome_for(error: smtplib.SMTPResponseException) -> SendOutcome:
    code = error.smtp_code
    if 400 <= code < 500 or code in OUR_CONFIG_PROBLEM:
        return SendOutcome.RETRY
    if isinstance(error, smtplib.SMTPSenderRefused) and code not in (552, 555):
        # MAIL FROM refused: our own address ("not owned by user", relay not allowed) is
        # a setup problem of ours, not the customer's mail: kept until it is fixed (or the
        # outbox gives up after days), not failed for every customer at once. 552/555
        # refuse this mail's size or options.
        return SendOutcome.RETRY
    if 500 <= code < 600:
        return SendOutcome.FAILED
    return SendOutcome.RETRY  # a nonsense code: do not give up on the customer's mail


def answer_text(code: int, text: bytes | str) -> str:
    message = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(message.split())}"


class DeadlineMixin:
    """Reads under a deadline (``deadline``). smtplib's timeout bounds one read, and a
    server answering a line at a time (a greeting that never ends) renews it with every
    line: that held the daemon, and its shutdown, for as long as the server liked. Each
    line is read with at most the time left; past it the read fails as a timeout."""

    deadline_at: float | None = None  # time.monotonic() by which the reads must be done
    deadline_expired = False

    def getreply(self) -> tuple[int, bytes]:
        smtp: smtplib.SMTP = self  # type: ignore[assignment]
        if smtp.file is None and smtp.sock is not None:  # smtplib makes it here too, lazily
            smtp.file = _DeadlineFile(smtp.sock.makefile("rb"), smtp)  # type: ignore[assignment]
        return super().getreply()  # type: ignore[misc,no-any-return]


class _DeadlineFile:
    def __init__(self, raw: Any, owner: Any) -> None:
        self.raw, self.owner = raw, owner

    def readline(self, size: int = -1) -> bytes:
        owner = self.owner
        if owner.deadline_at is None:
            owner.sock.settimeout(owner.timeout)
        else:
            left = owner.deadline_at - time.monotonic()
            if left <= 0:
                owner.deadline_expired = True
                raise TimeoutError("the SMTP deadline passed")  # smtplib: disconnected, from this
            owner.sock.settimeout(min(owner.timeout, left))
        return self.raw.readline(size)  # type: ignore[no-any-return]

    def close(self) -> None:
        self.raw.close()


@contextlib.contextmanager
def deadline(connection: smtplib.SMTP, seconds: float) -> Iterator[None]:
    """At most ``seconds`` for the reads of what runs inside (``DeadlineMixin``); no
    thread, so it costs nothing per mail."""
    connection.deadline_at = time.monotonic() + seconds  # type: ignore[attr-defined]
    try:
        yield
    finally:
        connection.deadline_at = None  # type: ignore[attr-defined]
