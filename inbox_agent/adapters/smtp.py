"""The SMTP transport (smtplib); ``adapters.directory_transport`` writes .eml files instead.

Both implement ``adapters.transport.Transport``: one result per mail, never an
exception for a delivery problem. SMTP answers map to outcomes as ops expect:
250 -> SENT, 4xx / connection trouble / timeouts -> RETRY, 5xx -> FAILED, always
with the server's own words in ``detail``.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from inbox_agent.adapters.imap import tls_client_context
from inbox_agent.adapters.smtp_connections import ConnectionBudget, send_over_connections
from inbox_agent.adapters.smtp_pipelining import (
    CLOSING,
    DeadlineMixin,
    UnsendableAddress,
    answer_text,
    deadline,
    envelope,
    mail_options,
    outcome_for,
    pipelined_sendmail,
    reset_transaction,
    timed_out,
)
from inbox_agent.config.settings import SmtpSettings
from inbox_agent.domain.model import OutgoingMail, SendOutcome, SendResult
from inbox_agent.domain.outbox import NotOffered, PartlyRefused
from inbox_agent.services.ports import TransportError

# CLOSING (421): the mail was not taken and the connection is gone; resending is safe.


class _TrackingSMTPMixin(DeadlineMixin):
    """Remembers whether DATA was sent for the current mail, and pipelines the
    envelope where the server offers it.

    A connection that drops *before* DATA certainly did not deliver the mail, so it
    can be resent at once on a new connection; after DATA the server may already
    have it, so the mail goes back to the outbox (RETRY) instead of being doubled now.

    PIPELINING (RFC 2920): MAIL, every RCPT and DATA in one write, one round trip
    instead of two plus one per recipient (``smtp_pipelining.py``); without the
    extension, smtplib's own command-by-command ``sendmail`` runs.
    """

    data_started = False

    def data(self, msg: bytes | str) -> tuple[int, bytes]:
        self.data_started = True
        return super().data(msg)  # type: ignore[misc]

    def sendmail(  # type: ignore[override]
        self,
        from_addr: str,
        to_addrs: Sequence[str],
        msg: bytes,
        mail_options: Sequence[str] = (),
        rcpt_options: Sequence[str] = (),
    ) -> dict[str, tuple[int, bytes]]:
        smtp: smtplib.SMTP = self  # type: ignore[assignment]
        smtp.ehlo_or_helo_if_needed()
        if not (smtp.does_esmtp and smtp.has_extn("pipelining")):
            return super().sendmail(from_addr, list(to_addrs), msg, list(mail_options), list(rcpt_options))  # type: ignore[misc,no-any-return]
        return pipelined_sendmail(
            smtp, from_addr, list(to_addrs), msg, list(mail_options), list(rcpt_options)
        )


class _SMTP(_TrackingSMTPMixin, smtplib.SMTP):
    pass


class _SMTP_SSL(_TrackingSMTPMixin, smtplib.SMTP_SSL):
    pass


_Connection = _SMTP | _SMTP_SSL


@dataclass(frozen=True)
class _Undelivered:
    """The connection failed under a mail; ``safe_to_resend`` when DATA was never sent."""

    detail: str
    safe_to_resend: bool


class SmtpTransport:
    """Delivers mails over ``settings.connections`` SMTP connections at once, a new one
    every ``settings.batch_size`` mails (``adapters.smtp_connections``)."""

    def __init__(
        self,
        settings: SmtpSettings,
        *,
        on_accepted: Callable[[str], None] | None = None,
        logger: logging.Logger | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._on_accepted = on_accepted
        self._accepted_lock = threading.Lock()  # one line at a time, from every connection
        self._log = logger or logging.getLogger(__name__)
        self._budget = ConnectionBudget(settings.connections, self._where, self._log, clock)
        # Built at the first TLS connection and kept: loading the system CAs costs tens
        # of milliseconds, and a connection is opened per batch (one mail, under IDLE).
        self._context: ssl.SSLContext | None = None

    @property
    def _where(self) -> str:
        return f"{self._settings.host}:{self._settings.port}"

    def send_batch(self, mails: Sequence[OutgoingMail]) -> list[SendResult]:
        if self._settings.security != "plain":
            self._tls_context()  # built here, once, not by each connection's thread at once
        results, opened, refused = send_over_connections(
            mails, self._budget.asking(), self._send_group, self._send_in_turn
        )
        if opened == 0:
            self._log.warning("SMTP: %s", results[0].detail)
        else:
            self._budget.took(opened, refused)
        return results

    def _send_group(self, mails: Sequence[OutgoingMail]) -> list[SendResult] | TransportError:
        """One of a batch's connections: its mails, or why the connection was not opened."""
        try:
            connection = self._open()
        except TransportError as error:
            return error
        try:  # a relay may also refuse the extra connection at EHLO (421)
            with deadline(connection, self._settings.timeout):
                connection.ehlo_or_helo_if_needed()
        except (OSError, smtplib.SMTPException) as error:
            _discard(connection)
            return TransportError(f"{self._where} refused another connection: {error}")
        return self._send_in_turn(mails, connection)

    def _send_in_turn(
        self, mails: Sequence[OutgoingMail], first: _Connection | None = None
    ) -> list[SendResult]:
        """Over one connection at a time (``first`` is the first), a new one every
        ``batch_size`` mails."""
        results: list[SendResult] = []
        size = max(1, self._settings.batch_size)
        for start in range(0, len(mails), size):
            results.extend(self._send_on_one_connection(mails[start : start + size], first))
            first = None
        return results

    def check(self) -> str:
        """Connect, log in if configured, QUIT; raise TransportError with the reason otherwise."""
        connection = self._open()
        with contextlib.suppress(smtplib.SMTPException, OSError):
            connection.quit()
        login = f", logged in as {self._settings.username}" if self._settings.username else ""
        return f"SMTP ok: {self._where} ({self._settings.security}{login})"

    # -- one batch ------------------------------------------------------------------

    def _send_on_one_connection(
        self, mails: Sequence[OutgoingMail], first: _Connection | None = None
    ) -> list[SendResult]:
        """The batch over one connection, and over another each time the server hangs up
        after taking at least one mail (a relay's per-connection limit: 421 after N
        mails); once more even without progress (a restart, an idle drop). Mails the
        server never saw are ``NotOffered``: no attempt counted."""
        results: list[SendResult] = []
        lost: _Undelivered | None = None
        free_reconnect = True
        while len(results) < len(mails):
            if lost is not None:
                self._log.info("SMTP: connection to %s lost (%s); reconnecting", self._where, lost.detail)
            try:
                connection, first = first or self._open(), None
            except TransportError as error:
                if lost is None:
                    self._log.warning("SMTP: %s", error)
                    return [SendResult(mail.outbox_id, SendOutcome.RETRY, str(error)) for mail in mails]
                return results + _unsent(mails[len(results) :], lost, f"; reconnect failed: {error}")
            try:
                lost, answered = self._send_until_lost(connection, mails, results)
            finally:
                _close(connection)
            if lost is None or len(results) == len(mails):
                break
            if not answered and not free_reconnect:
                return results + _unsent(mails[len(results) :], lost, "")
            free_reconnect = free_reconnect and answered > 0
        return results

    def _send_until_lost(
        self, connection: _Connection, mails: Sequence[OutgoingMail], results: list[SendResult]
    ) -> tuple[_Undelivered | None, int]:
        """Send the mails not in ``results`` yet, appending theirs, until the connection
        is lost; that loss (None if all went) and how many mails the server answered.
        A mail lost after DATA is RETRY (the server may have it); one lost before DATA
        is left out of ``results``, to be sent again on a new connection."""
        answered = 0
        for mail in mails[len(results) :]:
            outcome = self._send_one(connection, mail)
            if isinstance(outcome, _Undelivered):
                if not outcome.safe_to_resend:
                    results.append(SendResult(mail.outbox_id, SendOutcome.RETRY, outcome.detail))
                return outcome, answered
            results.append(outcome)
            answered += 1
        return None, answered

    def _send_one(self, connection: _Connection, mail: OutgoingMail) -> SendResult | _Undelivered:
        connection.data_started = False
        try:
            connection.ehlo_or_helo_if_needed()  # what the server offers decides the envelope
            sender, recipients, unsendable = envelope(mail, connection.has_extn("smtputf8"))
            # A stalled server fails a read within the timeout; one trickling its answers
            # fails the mail here (the body may take its time at 64 KB/s or more).
            with deadline(connection, 3 * self._settings.timeout + len(mail.raw) / 65536):
                refused = connection.sendmail(
                    sender, recipients, mail.raw, mail_options=mail_options(connection, mail.raw, recipients)
                )
        except UnsendableAddress as error:  # found before MAIL FROM: no transaction is open
            return SendResult(mail.outbox_id, SendOutcome.FAILED, str(error))
        except (OSError, smtplib.SMTPException, UnicodeError) as error:
            return self._after_error(connection, mail, error)
        if self._on_accepted is not None:
            # The server has the mail. The caller records its "sent" mark here; a crash
            # before that mark is written is the one documented duplicate window.
            with self._accepted_lock:
                self._on_accepted(mail.outbox_id)
        answers = {rcpt: answer_text(code, text) for rcpt, (code, text) in refused.items()} | unsendable
        if not answers:
            return SendResult(mail.outbox_id, SendOutcome.SENT, "250 accepted")
        detail = "; ".join(f"{rcpt}: {answer}" for rcpt, answer in answers.items())
        return PartlyRefused(mail.outbox_id, detail=f"refused {detail}", refused=tuple(answers.items()))

    def _after_error(
        self, connection: _Connection, mail: OutgoingMail, error: Exception
    ) -> SendResult | _Undelivered:
        """What an error under a mail means for it. A connection that stays open is
        RSET, so the next mail starts a clean transaction."""
        if isinstance(error, smtplib.SMTPRecipientsRefused):
            reset_transaction(connection)
            return _refused_recipients(mail, error.recipients)
        if isinstance(error, smtplib.SMTPResponseException):
            detail = answer_text(error.smtp_code, error.smtp_error)
            if error.smtp_code == CLOSING:
                return _Undelivered(detail, safe_to_resend=True)
            reset_transaction(connection)
            return SendResult(mail.outbox_id, outcome_for(error), detail)
        if isinstance(error, smtplib.SMTPNotSupportedError | UnicodeError):
            reset_transaction(connection)
            return SendResult(mail.outbox_id, SendOutcome.FAILED, f"server cannot take this mail: {error}")
        safe = not connection.data_started
        if isinstance(error, TimeoutError) or timed_out(error) or connection.deadline_expired:
            return _Undelivered(f"timed out after {self._settings.timeout:g}s talking to {self._where}", safe)
        if isinstance(error, smtplib.SMTPServerDisconnected):
            return _Undelivered(f"connection to {self._where} closed: {error}", safe)
        return _Undelivered(f"connection to {self._where} failed: {error}", safe)

    # -- connecting -------------------------------------------------------------------

    def _tls_context(self) -> ssl.SSLContext:
        if self._context is None:
            self._context = tls_client_context(self._settings.tls_verify, self._settings.ca_file)
        return self._context

    def _open(self) -> _Connection:
        settings = self._settings
        context = self._tls_context() if settings.security != "plain" else None
        local_name = settings.helo_name or None
        connection: _Connection = (
            _SMTP_SSL("", 0, local_name, timeout=settings.timeout, context=context)
            if settings.security == "tls"
            else _SMTP("", 0, local_name, timeout=settings.timeout)
        )
        try:  # greeting, STARTTLS, login: a few short answers, 3 timeouts at most
            with deadline(connection, 3 * settings.timeout):
                self._greeted(connection)
                if context is not None and settings.security == "starttls":
                    self._start_tls(connection, context)
                if settings.username:
                    self._login(connection)
        except BaseException:
            _discard(connection)
            raise
        return connection

    def _greeted(self, connection: _Connection) -> None:
        connection._host = self._settings.host  # as __init__ sets it: TLS checks the name against it
        try:
            code, message = connection.connect(self._settings.host, self._settings.port)
            if code != 220:
                raise smtplib.SMTPConnectError(code, message)
        except ssl.SSLError as error:
            raise TransportError(f"TLS handshake with {self._where} failed: {error}") from error
        except (OSError, smtplib.SMTPException) as error:
            if timed_out(error) or connection.deadline_expired:
                raise TransportError(
                    f"cannot connect to {self._where}: timed out after {self._settings.timeout:g}s"
                ) from error
            raise TransportError(f"cannot connect to {self._where}: {error}") from error

    def _start_tls(self, connection: _Connection, context: ssl.SSLContext) -> None:
        try:
            connection.ehlo()
            if not connection.has_extn("starttls"):
                raise TransportError(f"TLS: {self._where} does not offer STARTTLS")
            connection.starttls(context=context)
            connection.ehlo()
        except ssl.SSLError as error:
            raise TransportError(f"TLS handshake with {self._where} failed: {error}") from error
        except smtplib.SMTPResponseException as error:
            raise TransportError(
                f"TLS: {self._where} refused STARTTLS: {answer_text(error.smtp_code, error.smtp_error)}"
            ) from error
        except (OSError, smtplib.SMTPException) as error:
            raise TransportError(f"TLS: STARTTLS with {self._where} failed: {error}") from error

    def _login(self, connection: _Connection) -> None:
        settings = self._settings
        try:
            connection.login(settings.username, settings.password.reveal())
        except smtplib.SMTPAuthenticationError as error:
            raise TransportError(
                f"authentication failed for user {settings.username} at {self._where}: "
                f"{answer_text(error.smtp_code, error.smtp_error)}"
            ) from error
        except smtplib.SMTPNotSupportedError as error:
            raise TransportError(
                f"authentication failed for user {settings.username}: {self._where} offers no AUTH "
                "(is STARTTLS required first?)"
            ) from error
        except smtplib.SMTPException as error:
            raise TransportError(f"authentication failed for user {settings.username}: {error}") from error
        except OSError as error:
            raise TransportError(f"connection to {self._where} lost during login: {error}") from error


def _refused_recipients(mail: OutgoingMail, refused: dict[str, tuple[int, bytes]]) -> SendResult:
    """Every recipient was refused: FAILED only if all refusals are permanent."""
    detail = "; ".join(f"{rcpt}: {answer_text(code, text)}" for rcpt, (code, text) in refused.items())
    permanent = refused and all(500 <= code < 600 for code, _ in refused.values())
    return SendResult(mail.outbox_id, SendOutcome.FAILED if permanent else SendOutcome.RETRY, detail)


def _discard(connection: smtplib.SMTP) -> None:
    with contextlib.suppress(Exception):
        connection.close()


def _close(connection: smtplib.SMTP) -> None:
    """QUIT if the connection is still open, then close it."""
    if connection.sock is not None:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            connection.quit()
    _discard(connection)


def _unsent(mails: Sequence[OutgoingMail], lost: _Undelivered, why: str) -> list[SendResult]:
    """The rest of a batch after its connection was lost for good. A mail lost before
    DATA is the first of them and was offered: RETRY (an attempt). The others the
    server never saw: ``NotOffered``."""
    detail = f"{lost.detail}{why}"
    results: list[SendResult] = [
        NotOffered(mail.outbox_id, detail=f"not offered: {detail}") for mail in mails
    ]
    if lost.safe_to_resend and mails:
        results[0] = SendResult(mails[0].outbox_id, SendOutcome.RETRY, detail)
    return results
