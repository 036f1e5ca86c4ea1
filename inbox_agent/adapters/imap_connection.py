"""Opening an IMAP connection: TCP, implicit TLS or STARTTLS, each failure named.

Every failure comes out as ``MailboxError`` with a reason ops can act on ("cannot
connect to ...", "TLS handshake failed ...", "timed out after 30s while STARTTLS").
"""

from __future__ import annotations

import contextlib
import re
import ssl

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from inbox_agent.config.settings import ImapSettings
from inbox_agent.services.ports import MailboxError


def tls_client_context(verify: bool, ca_file: str) -> ssl.SSLContext:
    """The client TLS context for IMAP and SMTP: system CAs (or ``ca_file``), verified by default."""
    context = ssl.create_default_context(cafile=ca_file or None)
    if not verify:
        # Explicit opt-out for self-signed test servers; the config layer warns about it.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def connect(settings: ImapSettings) -> IMAPClient:
    """A greeted connection (TLS or STARTTLS as configured), not yet logged in."""
    where = f"{settings.host}:{settings.port}"
    implicit_tls = settings.security == "tls"
    # Not built for a plain connection: loading the system CAs costs tens of milliseconds.
    context = (
        tls_client_context(settings.tls_verify, settings.ca_file) if settings.security != "plain" else None
    )
    try:
        client = IMAPClient(
            settings.host,
            port=settings.port,
            ssl=implicit_tls,
            ssl_context=context if implicit_tls else None,
            timeout=settings.timeout,
        )
    except ssl.SSLError as error:
        raise MailboxError(f"TLS handshake failed with {where}: {describe(error)}") from error
    except TimeoutError as error:
        raise MailboxError(
            f"timed out after {settings.timeout:g}s while connecting to {where} (no IMAP greeting)"
        ) from error
    except (OSError, IMAPClientError) as error:
        raise MailboxError(f"cannot connect to {where}: {describe(error)}") from error
    _silence_imaplib_debug(client)
    # Aware datetimes: INTERNALDATE is compared across time zones.
    client.normalise_times = False
    if context is not None and settings.security == "starttls":
        _start_tls(client, context, settings)
    return client


def _start_tls(client: IMAPClient, context: ssl.SSLContext, settings: ImapSettings) -> None:
    where = f"{settings.host}:{settings.port}"
    try:
        client.starttls(context)
    except ssl.SSLError as error:
        drop(client)
        raise MailboxError(f"TLS handshake failed with {where}: {describe(error)}") from error
    except TimeoutError as error:
        drop(client)
        raise MailboxError(f"timed out after {settings.timeout:g}s while STARTTLS") from error
    except (OSError, IMAPClientError) as error:
        drop(client)
        raise MailboxError(
            f"TLS handshake failed with {where}: STARTTLS refused ({describe(error)})"
        ) from error


def _silence_imaplib_debug(client: IMAPClient) -> None:
    """Undo imapclient's ``self._imap.debug = 5``.

    imapclient routes imaplib's debug output to a logger and sets imaplib's debug
    level to 5, so imaplib formats a repr() of every line and (level 5) of every
    untagged response, message bodies included, before the logger drops it: that
    halves FETCH throughput. Level 0 keeps imaplib quiet; imapclient's own command
    logging (truncated, lazily formatted) is unaffected.
    """
    imap = getattr(client, "_imap", None)
    if imap is not None:
        imap.debug = 0


def describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    # imaplib prefixes "command: LOGIN => ..."; the action is already named by the caller.
    return re.sub(r"^command: \w+ => ", "", text).strip()


def drop(client: IMAPClient) -> None:
    """Close a connection that is broken or half-open, without talking to the server."""
    with contextlib.suppress(Exception):
        client.shutdown()
