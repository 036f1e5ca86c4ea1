"""Typed, frozen configuration objects.

``loader`` validates the TOML once at start-up and builds these; everything else
only ever sees these objects, never the raw dictionaries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal


class Secret:
    """A password or token: never printed, never logged, never in a repr."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('********')" if self._value else "Secret('')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


Security = Literal["tls", "starttls", "plain"]


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    security: Security  # "plain" only when allow_plaintext is true
    username: str
    password: Secret
    auth: Literal["password", "xoauth2"] = "password"
    folder: str = "INBOX"
    timeout: float = 30.0  # seconds, applied to every network call
    batch_size: int = 100  # messages per FETCH
    processed_action: Literal["flag", "move"] = "flag"
    processed_keyword: str = "$InboxAgentDone"
    # When the folder does not keep keywords (PERMANENTFLAGS without it or \*):
    # "checkpoint" - leave the mail as it is, the UID checkpoint alone records it
    # "seen"       - mark processed mail \Seen instead
    keyword_fallback: Literal["checkpoint", "seen"] = "checkpoint"
    processed_folder: str = "Processed"
    idle: bool = False  # use IMAP IDLE when the server offers it; polling otherwise
    # Re-issue IDLE at least this often (RFC 2177: < 29 min); None = "auto": chosen from
    # the server (adapters/imap_server.py idle_renewal).
    idle_timeout: float | None = None
    # "auto" = the folder the server marks \Sent (SPECIAL-USE); a name is tried as
    # given, then under the personal namespace prefix; "" = no Sent folder at all
    sent_folder: str = "auto"
    tls_verify: bool = True
    ca_file: str = ""


@dataclass(frozen=True)
class MaildirSettings:
    path: Path
    # Maildir has no keywords: processed mail is moved to cur/ with the "S" flag
    # ("flag"), into the sub-folder ``.<processed_folder>`` ("move"), or left where it
    # is ("keep": for read-only folders such as the shipped examples).
    processed_action: Literal["flag", "move", "keep"] = "flag"
    processed_folder: str = "Processed"


@dataclass(frozen=True)
class MailboxSettings:
    kind: Literal["imap", "maildir"]
    imap: ImapSettings | None
    maildir: MaildirSettings | None
    address: str  # the complaint address: From of every reply, and "our own mail"
    poll_interval: float = 30.0  # seconds between polls
    max_message_bytes: int = 25 * 1024 * 1024  # larger mail is not downloaded: quarantined
    # First start on a mailbox that already holds mail:
    #   "now"  - only mail that arrives after the first start
    #   "date" - mail received on or after ``start_date``
    #   "all"  - everything
    start_from: Literal["now", "date", "all"] = "all"
    start_date: date | None = None
    # Mail older than this (by receipt time) is filed silently, never acknowledged.
    silent_older_than: float = 7 * 86400.0
    backoff_initial: float = 2.0  # seconds; doubled after each failure
    backoff_max: float = 300.0
    # Processes that parse, categorize and read evidence of a backlog's batches while
    # the next is fetched (services/analysis_pool.py): 0 = one per CPU, 1 = no pool.
    workers: int = 0
    # How much lower the analysis workers' CPU priority is than the daemon's (a nice
    # increment, 0-19): the daemon's own process decides, stores and answers every
    # mail and is the slowest stage of a backlog, so it goes first.
    workers_nice: int = 10


@dataclass(frozen=True)
class SmtpSettings:
    kind: Literal["smtp", "directory"]
    host: str = ""
    port: int = 0
    security: Security = "starttls"
    username: str = ""
    password: Secret = field(default_factory=lambda: Secret(""))
    timeout: float = 30.0
    directory: Path | None = None  # kind = "directory": each mail written as an .eml file
    batch_size: int = 100  # mails per SMTP connection
    connections: int = 3  # SMTP connections a batch is sent over at once
    retry_initial: float = 60.0  # seconds before the first retry of a 4xx / connection error
    retry_max: float = 3600.0
    tls_verify: bool = True
    ca_file: str = ""
    helo_name: str = ""  # "" = the local host name
    # When a 250 written to the accepted-mail log is fsynced: "batch" (once per SMTP
    # batch) or "each" (every mail). See adapters/sent_log.py.
    accepted_log_sync: Literal["batch", "each"] = "batch"
