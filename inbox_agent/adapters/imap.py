"""The IMAP mailbox adapter (imapclient), implementing ``adapters.mailbox.Mailbox``.

Every network call is bounded by ``settings.timeout`` and every failure comes out
as ``MailboxError`` with a reason ops can act on ("cannot connect to ...", "TLS
handshake failed ...", "login failed for user ...", "timed out after 30s while
FETCH"). After a failure the connection is dropped, so the next ``open()``
reconnects; the caller owns the retry schedule (``domain.backoff``).
"""

from __future__ import annotations

import contextlib
import logging
import re
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from typing import TypeVar

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError

from inbox_agent.config.settings import ImapSettings
from inbox_agent.domain.clock import to_utc
from inbox_agent.services.ports import FetchedMail, MailboxError, MailboxState, MailRef

T = TypeVar("T")

# One LIST/SEARCH/FETCH line per chunk of UIDs keeps commands far below the line
# limits of real servers (Dovecot: 64 kB) even for a first run over a huge mailbox.
LIST_CHUNK = 2000

_DELETED = b"\\Deleted"
_SEEN = b"\\Seen"
_NEW_MAIL_RESPONSES = (b"EXISTS", b"RECENT")


def tls_client_context(verify: bool, ca_file: str) -> ssl.SSLContext:
    """The client TLS context for IMAP and SMTP: system CAs (or ``ca_file``), verified by default."""
    context = ssl.create_default_context(cafile=ca_file or None)
    if not verify:
        # Explicit opt-out for self-signed test servers; the config layer warns about it.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def compact_uid_set(uids: Sequence[int]) -> str:
    """``[1, 2, 3, 7, 9, 10]`` -> ``"1:3,7,9:10"``: short IMAP sequence sets for long UID lists."""
    ordered = sorted(set(uids))
    if not ordered:
        raise ValueError("an IMAP UID set cannot be empty")
    runs: list[str] = []
    start = previous = ordered[0]
    for uid in ordered[1:]:
        if uid != previous + 1:
            runs.append(_uid_range(start, previous))
            start = uid
        previous = uid
    runs.append(_uid_range(start, previous))
    return ",".join(runs)


def _uid_range(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}:{last}"


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    step = max(1, size)
    for start in range(0, len(items), step):
        yield items[start : start + step]


def _internal_date(value: object) -> datetime | None:
    return to_utc(value) if isinstance(value, datetime) else None


class ImapMailbox:
    """A folder on an IMAP server, reached over one lazily opened connection."""

    def __init__(self, settings: ImapSettings, *, logger: logging.Logger | None = None) -> None:
        self._settings = settings
        self._log = logger or logging.getLogger(__name__)
        self._client: IMAPClient | None = None
        self._selected = False
        self._known_folders: set[str] = set()

    @property
    def _where(self) -> str:
        return f"{self._settings.host}:{self._settings.port}"

    # -- Mailbox protocol ----------------------------------------------------

    def open(self) -> MailboxState:
        client = self._connected()
        folder = self._settings.folder
        if folder == self._settings.sent_folder:
            self._ensure_folder(client, folder)  # a new account may have no Sent folder yet
        info = self._call(f"SELECT {folder}", lambda: client.select_folder(folder, readonly=False))
        self._selected = True
        return MailboxState(
            name=folder,
            uidvalidity=int(info.get(b"UIDVALIDITY", 0)),
            uidnext=int(info.get(b"UIDNEXT", 0)),
        )

    def list_new(self, after_uid: int, since: date | None = None) -> list[MailRef]:
        client = self._selected_client()
        criteria: list[object] = ["UID", f"{after_uid + 1}:*", "UNKEYWORD", self._settings.processed_keyword]
        if since is not None:
            criteria += ["SINCE", since]
        # NOOP first: a server evaluates "*" against the session's current view of the
        # folder, which only learns about mail delivered meanwhile at the next sync.
        self._call("NOOP", client.noop)
        found = self._call("UID SEARCH", lambda: client.search(criteria))
        # "N:*" always matches the highest UID, even when it is below N (RFC 3501 6.4.8).
        uids = sorted(uid for uid in found if uid > after_uid)
        refs: list[MailRef] = []
        for chunk in _chunks(uids, LIST_CHUNK):
            # imapclient matches FETCH answers against the UIDs asked for, so FETCH takes
            # the plain list (STORE/COPY/MOVE below get the compact set).
            answer = self._call(
                "FETCH", lambda c=list(chunk): client.fetch(c, ["RFC822.SIZE", "INTERNALDATE"])
            )
            for uid in chunk:
                data = answer.get(uid)
                if data is None:  # expunged by someone else between SEARCH and FETCH
                    continue
                refs.append(
                    MailRef(
                        key=str(uid),
                        uid=uid,
                        size=int(data.get(b"RFC822.SIZE", 0)),
                        internal_date=_internal_date(data.get(b"INTERNALDATE")),
                    )
                )
        return refs

    def fetch(self, refs: Sequence[MailRef], max_size: int) -> Iterator[FetchedMail]:
        """Yield mails in the order given; a mail expunged meanwhile is simply not yielded."""
        client = self._selected_client()
        for batch in _chunks(refs, self._settings.batch_size):
            wanted = [ref.uid for ref in batch if ref.size <= max_size]
            bodies: dict[int, bytes] = {}
            if wanted:
                # BODY.PEEK[] leaves \Seen alone: the staff's mail client still shows it as new.
                answer = self._call("FETCH", lambda w=wanted: client.fetch(w, ["BODY.PEEK[]"]))
                bodies = {uid: data[b"BODY[]"] for uid, data in answer.items() if b"BODY[]" in data}
            for ref in batch:
                if ref.size > max_size:
                    yield FetchedMail(ref=ref, raw=None)
                elif ref.uid in bodies:
                    yield FetchedMail(ref=ref, raw=bodies[ref.uid])

    def mark_processed(self, refs: Sequence[MailRef]) -> None:
        uids = [ref.uid for ref in refs]
        if not uids:
            return
        client = self._selected_client()
        if self._settings.processed_action == "move":
            self._move(client, uids)
        else:
            keyword = self._settings.processed_keyword
            for chunk in _chunks(uids, LIST_CHUNK):
                uid_set = compact_uid_set(chunk)
                self._call("STORE", lambda s=uid_set: client.add_flags(s, [keyword], silent=True))

    def wait_for_new(self, timeout: float) -> bool:
        # Polling mode never touches the network here: a server outage must not turn
        # the pause between polls into an error.
        if not self._settings.idle:
            time.sleep(timeout)
            return False
        client = self._selected_client()
        if not self._call("CAPABILITY", lambda: client.has_capability("IDLE")):
            time.sleep(timeout)
            return False
        # Mail delivered after the last search but before IDLE starts is announced by
        # the server right at IDLE start, where imapclient files it away unseen; a NOOP
        # first hears it, so such a mail does not wait for the IDLE window to end.
        _, pending = self._call("NOOP", client.noop)
        if any(_announces_mail(response) for response in pending):
            return True
        # RFC 2177: re-issue IDLE well before the server's 30-minute inactivity cut-off.
        window = max(0.0, min(timeout, self._settings.idle_timeout))
        self._call("IDLE", client.idle)
        try:
            announced = self._call("IDLE", lambda: client.idle_check(timeout=window))
            _, after_done = self._call("IDLE", client.idle_done)
        except BaseException:
            # Interrupted in IDLE state: the connection cannot take commands any more.
            self._drop_connection()
            raise
        responses = [*announced, *after_done]
        return any(_announces_mail(response) for response in responses)

    def close(self) -> None:
        client, self._client = self._client, None
        self._selected = False
        if client is None:
            return
        try:
            client.logout()
        except Exception:  # the connection may already be dead: closing must not fail
            with contextlib.suppress(Exception):
                client.shutdown()

    # -- extras used by the CLI and the daemon --------------------------------

    def check(self) -> str:
        """Connect, log in, look at the folder, log out: the ``inbox-agent check`` line.

        Uses a connection of its own, so a running session is left alone.
        """
        probe = ImapMailbox(self._settings, logger=self._log)
        folder = self._settings.folder
        try:
            client = probe._connected()
            info = probe._call(f"EXAMINE {folder}", lambda: client.select_folder(folder, readonly=True))
        finally:
            probe.close()
        return (
            f"IMAP ok: {int(info.get(b'EXISTS', 0))} messages in {folder} "
            f"(UIDVALIDITY {int(info.get(b'UIDVALIDITY', 0))})"
        )

    def append_sent(self, raw: bytes) -> None:
        """Keep a copy of a reply in the Sent folder, when one is configured."""
        folder = self._settings.sent_folder
        if not folder:
            return
        client = self._connected()
        self._ensure_folder(client, folder)
        self._call(f"APPEND {folder}", lambda: client.append(folder, raw, flags=(_SEEN,)))

    # -- connection ----------------------------------------------------------

    def _connected(self) -> IMAPClient:
        if self._client is None:
            self._client = self._login(self._connect())
            self._selected = False
            self._known_folders.clear()
        return self._client

    def _selected_client(self) -> IMAPClient:
        if self._client is None or not self._selected:
            self.open()
        assert self._client is not None  # open() either connected or raised
        return self._client

    def _connect(self) -> IMAPClient:
        settings = self._settings
        implicit_tls = settings.security == "tls"
        context = tls_client_context(settings.tls_verify, settings.ca_file)
        try:
            client = IMAPClient(
                settings.host,
                port=settings.port,
                ssl=implicit_tls,
                ssl_context=context if implicit_tls else None,
                timeout=settings.timeout,
            )
        except ssl.SSLError as error:
            raise MailboxError(f"TLS handshake failed with {self._where}: {_describe(error)}") from error
        except TimeoutError as error:
            raise MailboxError(
                f"timed out after {settings.timeout:g}s while connecting to {self._where} (no IMAP greeting)"
            ) from error
        except (OSError, IMAPClientError) as error:
            raise MailboxError(f"cannot connect to {self._where}: {_describe(error)}") from error
        _silence_imaplib_debug(client)
        # Aware datetimes: INTERNALDATE is compared across time zones.
        client.normalise_times = False
        if settings.security == "starttls":
            self._start_tls(client, context)
        return client

    def _start_tls(self, client: IMAPClient, context: ssl.SSLContext) -> None:
        try:
            client.starttls(context)
        except ssl.SSLError as error:
            _drop(client)
            raise MailboxError(f"TLS handshake failed with {self._where}: {_describe(error)}") from error
        except TimeoutError as error:
            _drop(client)
            raise MailboxError(f"timed out after {self._settings.timeout:g}s while STARTTLS") from error
        except (OSError, IMAPClientError) as error:
            _drop(client)
            raise MailboxError(
                f"TLS handshake failed with {self._where}: STARTTLS refused ({_describe(error)})"
            ) from error

    def _login(self, client: IMAPClient) -> IMAPClient:
        settings = self._settings
        secret = settings.password.reveal()
        try:
            if settings.auth == "xoauth2":
                client.oauth2_login(settings.username, secret)
            else:
                client.login(settings.username, secret)
        except LoginError as error:
            _drop(client)
            # The server's text helps ("[AUTHENTICATIONFAILED]", "[UNAVAILABLE]") and never holds the secret.
            raise MailboxError(
                f"login failed for user {settings.username} (authentication rejected): {_describe(error)}"
            ) from error
        except Exception as error:
            _drop(client)
            raise self._failure("LOGIN", error) from error
        self._log.info("IMAP: logged in to %s as %s (%s)", self._where, settings.username, settings.security)
        return client

    def _call(self, action: str, operation: Callable[[], T]) -> T:
        """Run one IMAP command; any failure drops the connection and becomes a MailboxError."""
        try:
            return operation()
        except MailboxError:
            raise
        except Exception as error:
            failure = self._failure(action, error)
            self._log.warning("IMAP: %s", failure)
            self._drop_connection()
            raise failure from error

    def _failure(self, action: str, error: Exception) -> MailboxError:
        if isinstance(error, TimeoutError):
            return MailboxError(f"timed out after {self._settings.timeout:g}s while {action}")
        if isinstance(error, ssl.SSLError):
            return MailboxError(f"TLS error with {self._where} while {action}: {_describe(error)}")
        if isinstance(error, IMAPClientAbortError | OSError):
            return MailboxError(f"connection to {self._where} lost while {action}: {_describe(error)}")
        if isinstance(error, IMAPClientError):
            return MailboxError(f"server refused {action}: {_describe(error)}")
        return MailboxError(f"unexpected error while {action}: {type(error).__name__}: {error}")

    def _drop_connection(self) -> None:
        client, self._client = self._client, None
        self._selected = False
        if client is not None:
            _drop(client)

    # -- processed handling ---------------------------------------------------

    def _move(self, client: IMAPClient, uids: list[int]) -> None:
        folder = self._settings.processed_folder
        self._ensure_folder(client, folder)
        can_move = self._call("CAPABILITY", lambda: client.has_capability("MOVE"))
        has_uidplus = self._call("CAPABILITY", lambda: client.has_capability("UIDPLUS"))
        # The keyword too: without UIDPLUS we must not EXPUNGE (it would also remove
        # mail others marked \Deleted), and the keyword keeps list_new from seeing it again.
        copied_flags = [_DELETED, self._settings.processed_keyword]
        for chunk in _chunks(uids, LIST_CHUNK):
            uid_set = compact_uid_set(chunk)
            if can_move:
                self._call(f"MOVE to {folder}", lambda s=uid_set: client.move(s, folder))
                continue
            self._call(f"COPY to {folder}", lambda s=uid_set: client.copy(s, folder))
            self._call("STORE", lambda s=uid_set: client.add_flags(s, copied_flags, silent=True))
            if has_uidplus:
                self._call("UID EXPUNGE", lambda s=uid_set: client.uid_expunge(s))

    def _ensure_folder(self, client: IMAPClient, folder: str) -> None:
        if folder in self._known_folders:
            return
        if not self._call(f"LIST {folder}", lambda: client.folder_exists(folder)):
            self._call(f"CREATE {folder}", lambda: client.create_folder(folder))
            self._log.info("IMAP: created folder %s", folder)
        self._known_folders.add(folder)


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


def _announces_mail(response: object) -> bool:
    return isinstance(response, tuple) and len(response) >= 2 and response[1] in _NEW_MAIL_RESPONSES


def _describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    # imaplib prefixes "command: LOGIN => ..."; the action is already named by the caller.
    return re.sub(r"^command: \w+ => ", "", text).strip()


def _drop(client: IMAPClient) -> None:
    """Close a connection that is broken or half-open, without talking to the server."""
    with contextlib.suppress(Exception):
        client.shutdown()
