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
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from typing import TypeVar

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError

from inbox_agent.adapters.imap_connection import connect, describe, drop, tls_client_context
from inbox_agent.adapters.imap_marks import LIST_CHUNK, chunks, move_uids, store_flag
from inbox_agent.adapters.imap_server import (
    AUTO,
    NO_SENT_FOLDER,
    Marking,
    ResolvedFolder,
    ServerProfile,
    check_report,
    choose_marking,
    idle_renewal,
    read_profile,
    resolve_folder,
)
from inbox_agent.config.settings import ImapSettings
from inbox_agent.domain.clock import to_utc
from inbox_agent.domain.uid_set import compact_uid_set
from inbox_agent.services.ports import FetchedMail, MailboxError, MailboxState, MailRef

T = TypeVar("T")

__all__ = ["ImapMailbox", "compact_uid_set", "tls_client_context"]

_SEEN = b"\\Seen"
_NEW_MAIL_RESPONSES = (b"EXISTS", b"RECENT")


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
        self._profile: ServerProfile | None = None  # read once per connection
        self._marking = Marking("keyword", settings.processed_keyword.encode(), "")
        self._noted: set[str] = set()  # fallbacks and notes already logged: once each

    @property
    def _where(self) -> str:
        return f"{self._settings.host}:{self._settings.port}"

    # -- Mailbox protocol ----------------------------------------------------

    def open(self) -> MailboxState:
        client = self._connected()
        folder = self._own_folder(client)
        info = self._call(f"SELECT {folder}", lambda: client.select_folder(folder, readonly=False))
        self._selected = True
        self._marking = choose_marking(self._settings, info.get(b"PERMANENTFLAGS"), folder)
        if self._marking.is_fallback:
            self._note_once(self._marking.note)
        return MailboxState(
            name=folder,
            uidvalidity=int(info.get(b"UIDVALIDITY", 0)),
            uidnext=int(info.get(b"UIDNEXT", 0)),
        )

    def list_new(self, after_uid: int, since: date | None = None) -> list[MailRef]:
        client = self._selected_client()
        criteria: list[object] = ["UID", f"{after_uid + 1}:*"]
        if self._marking.mode == "keyword":  # a folder without keywords: the checkpoint alone
            criteria += ["UNKEYWORD", self._settings.processed_keyword]
        if since is not None:
            criteria += ["SINCE", since]
        # NOOP first: a server evaluates "*" against the session's current view of the
        # folder, which only learns about mail delivered meanwhile at the next sync.
        self._call("NOOP", client.noop)
        found = self._call("UID SEARCH", lambda: client.search(criteria))
        # "N:*" always matches the highest UID, even when it is below N (RFC 3501 6.4.8).
        uids = sorted(uid for uid in found if uid > after_uid)
        refs: list[MailRef] = []
        for chunk in chunks(uids, LIST_CHUNK):
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
        for batch in chunks(refs, self._settings.batch_size):
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
        """Raises MailboxError when the server refuses or the connection fails; the
        caller keeps the refs and calls again (every step is safe to repeat)."""
        uids = [ref.uid for ref in refs]
        if not uids:
            return
        client = self._selected_client()
        if self._settings.processed_action == "move":
            folder = self._target_folder(client, self._settings.processed_folder)
            move_uids(client, self._call, uids, folder, self._server(client), self._marking)
        else:
            store_flag(client, self._call, uids, self._marking)

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
        window = max(0.0, min(timeout, idle_renewal(self._settings, self._server(client)).seconds))
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
        """Connect, log in, look at the folder, log out: the ``inbox-agent check`` lines —
        the folder, what the server offers and every fallback the daemon will use.

        Uses a connection of its own, so a running session is left alone. The folder is
        SELECTed (not EXAMINEd): only a read-write SELECT shows PERMANENTFLAGS.
        """
        probe = ImapMailbox(self._settings, logger=self._log)
        try:
            client = probe._connected()
            profile = probe._server(client)
            folder = probe._own_folder(client)
            info = probe._call(f"SELECT {folder}", lambda: client.select_folder(folder, readonly=False))
        finally:
            probe.close()
        return check_report(self._settings, profile, folder, info)

    def append_sent(self, raw: bytes) -> None:
        """Keep a copy of a reply in the Sent folder, when there is one."""
        if not self._settings.sent_folder:
            return
        client = self._connected()
        folder = self._target_folder(client, self._settings.sent_folder)
        if folder is None:
            return
        self._call(f"APPEND {folder}", lambda: client.append(folder, raw, flags=(_SEEN,)))

    # -- connection ----------------------------------------------------------

    def _connected(self) -> IMAPClient:
        if self._client is None:
            self._client = self._login(connect(self._settings))
            self._selected = False
            self._known_folders.clear()
            self._profile = None
        return self._client

    def _selected_client(self) -> IMAPClient:
        if self._client is None or not self._selected:
            self.open()
        assert self._client is not None  # open() either connected or raised
        return self._client

    def _login(self, client: IMAPClient) -> IMAPClient:
        settings = self._settings
        secret = settings.password.reveal()
        try:
            if settings.auth == "xoauth2":
                client.oauth2_login(settings.username, secret)
            else:
                client.login(settings.username, secret)
        except LoginError as error:
            drop(client)
            # The server's text helps ("[AUTHENTICATIONFAILED]", "[UNAVAILABLE]") and never holds the secret.
            raise MailboxError(
                f"login failed for user {settings.username} (authentication rejected): {describe(error)}"
            ) from error
        except Exception as error:
            drop(client)
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
            return MailboxError(f"TLS error with {self._where} while {action}: {describe(error)}")
        if isinstance(error, IMAPClientAbortError | OSError):
            return MailboxError(f"connection to {self._where} lost while {action}: {describe(error)}")
        if isinstance(error, IMAPClientError):
            return MailboxError(f"server refused {action}: {describe(error)}")
        return MailboxError(f"unexpected error while {action}: {type(error).__name__}: {error}")

    def _drop_connection(self) -> None:
        client, self._client = self._client, None
        self._selected = False
        if client is not None:
            drop(client)

    # -- folders ---------------------------------------------------------------

    def _server(self, client: IMAPClient) -> ServerProfile:
        if self._profile is None:
            self._profile = read_profile(client, self._call)
        return self._profile

    def _own_folder(self, client: IMAPClient) -> str:
        """The folder this mailbox reads. The Sent folder (``folder == sent_folder``) is
        created when missing, as a new account may have none; the inbox never is."""
        settings = self._settings
        if settings.folder == settings.sent_folder:
            folder = self._target_folder(client, settings.folder)
            if folder is None:
                raise MailboxError(f"no Sent folder: {NO_SENT_FOLDER}")
            return folder
        resolved = resolve_folder(settings.folder, self._server(client))
        return resolved.name if resolved.exists and resolved.name else settings.folder

    def _target_folder(self, client: IMAPClient, configured: str) -> str | None:
        """A folder to write to (Processed, Sent), created under the namespace prefix
        when missing; None for ``auto`` without a ``\\Sent`` folder (noted once)."""
        resolved = resolve_folder(configured, self._server(client))
        if resolved.name is None:
            self._note_once(f"Sent folder {resolved.note}: {NO_SENT_FOLDER}")
            return None
        if resolved.name != configured and configured != AUTO:
            self._note_once(f"IMAP folder {configured!r} is {resolved.note}")
        self._ensure_folder(client, resolved)
        return resolved.name

    def _ensure_folder(self, client: IMAPClient, resolved: ResolvedFolder) -> None:
        folder = resolved.name
        if folder is None or resolved.exists or folder in self._known_folders:
            return
        if not self._call(f"LIST {folder}", lambda: client.folder_exists(folder)):
            self._call(f"CREATE {folder}", lambda: client.create_folder(folder))
            self._log.info("IMAP: created folder %s", folder)
        self._known_folders.add(folder)

    def _note_once(self, note: str) -> None:
        if note not in self._noted:
            self._noted.add(note)
            self._log.warning("IMAP: %s", note)


def _announces_mail(response: object) -> bool:
    return isinstance(response, tuple) and len(response) >= 2 and response[1] in _NEW_MAIL_RESPONSES
