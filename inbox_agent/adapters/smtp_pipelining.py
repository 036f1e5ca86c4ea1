"""SMTP PIPELINING (RFC 2920) for smtplib, which sends one command at a time.

MAIL, every RCPT and DATA go out in one write; their answers are read in order and
mean what they mean without pipelining, so the caller sees smtplib's own results
and exceptions (``SMTPSenderRefused``, ``SMTPRecipientsRefused``, ``SMTPDataError``).
Used only when the server offers PIPELINING in its EHLO answer.
"""

from __future__ import annotations

import smtplib
from collections.abc import Sequence

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
