"""What an IMAP server allows, read at login: capabilities, NAMESPACE, SPECIAL-USE,
and per folder PERMANENTFLAGS — and the choices made from them.

Servers differ where the daemon must not guess: Cyrus and Courier keep every folder
under ``INBOX.``, so a folder called "Sent" does not exist there; Courier with
``IMAP_KEYWORDS=0`` (or a Dovecot ACL without the ``w`` right) refuses keywords, so
``$InboxAgentDone`` cannot be set. This module turns what the server says into
plain records: which folder a configured name means, and how processed mail is
marked (the keyword, else the configured fallback), each with the words
``inbox-agent check`` prints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

from inbox_agent.config.settings import ImapSettings

T = TypeVar("T")
Call = Callable[[str, Callable[[], T]], T]

# The capabilities `check` reports (RFC 2177, 6851, 4315, 2342, 6154, 3348 / 5258).
REPORTED_CAPABILITIES = ("IDLE", "MOVE", "UIDPLUS", "NAMESPACE", "SPECIAL-USE", "LIST-EXTENDED")
# RFC 6154 attributes, as the server may send them in LIST (lower-cased for matching).
SPECIAL_USE_ATTRIBUTES = ("\\all", "\\archive", "\\drafts", "\\flagged", "\\junk", "\\sent", "\\trash")
AUTO = "auto"  # sent_folder = "auto": the folder the server marks \Sent

MarkMode = Literal["keyword", "seen", "none"]

NO_SENT_FOLDER = (
    "copies of our replies are not kept and replies written by hand are not read; "
    'set sent_folder (section mailbox.imap) to a folder name, or to "" to say so'
)


@dataclass(frozen=True)
class ServerProfile:
    """What the server said right after login (one LIST, one NAMESPACE)."""

    capabilities: frozenset[str]
    prefix: str  # the personal namespace's prefix, e.g. "INBOX." ("" on most Dovecots)
    separator: str  # hierarchy separator, e.g. "." or "/"
    folders: frozenset[str]
    special_use: dict[str, str] = field(default_factory=dict)  # "\\Sent" -> "INBOX.Sent"
    software: str = ""  # the server's name, from ID (RFC 2971) or its greeting: "Dovecot"

    def has(self, capability: str) -> bool:
        return capability.upper() in self.capabilities

    def exists(self, folder: str) -> bool:
        return folder in self.folders or (
            folder.upper() == "INBOX" and any(f.upper() == "INBOX" for f in self.folders)
        )


@dataclass(frozen=True)
class ResolvedFolder:
    """A configured folder name as the server knows it; ``name`` None: no such folder."""

    name: str | None
    exists: bool
    note: str  # how it was found, for `check` and the logs


@dataclass(frozen=True)
class Marking:
    """How processed mail is marked in one folder, chosen from its PERMANENTFLAGS."""

    mode: MarkMode
    flag: bytes | None  # the flag STOREd ("keyword" and "seen"); None for "none"
    note: str  # for `check`; a fallback's note is also the one warning in the log

    @property
    def is_fallback(self) -> bool:
        return self.mode != "keyword"


def read_profile(client: IMAPClient, call: Call) -> ServerProfile:
    """CAPABILITY, NAMESPACE (when offered) and one LIST of every folder."""
    capabilities = frozenset(_text(item).upper() for item in call("CAPABILITY", client.capabilities))
    listing = call("LIST", client.list_folders)
    prefix, separator = "", _first_separator(listing)
    if "NAMESPACE" in capabilities:
        personal = call("NAMESPACE", client.namespace).personal
        if personal:
            prefix, separator = _text(personal[0][0]), _text(personal[0][1] or "") or separator
    software = _software(client, call) if "ID" in capabilities else ""
    special: dict[str, str] = {}
    for flags, _delimiter, name in listing:
        for flag in flags:
            attribute = _text(flag).lower()
            if attribute in SPECIAL_USE_ATTRIBUTES:
                special.setdefault("\\" + attribute[1:].capitalize(), _text(name))
    return ServerProfile(
        capabilities=capabilities,
        prefix=prefix,
        separator=separator,
        folders=frozenset(_text(name) for _flags, _delimiter, name in listing),
        special_use=special,
        software=software or _greeting_names(getattr(client, "welcome", b"")),
    )


def _software(client: IMAPClient, call: Call) -> str:
    """The ``name`` the server gives in its ID answer ("" when it gives none)."""
    # imapclient hands back the parsed answer: ((key, value, key, value, ...),), or (None,)
    # for "ID NIL" (a server that tells nothing about itself).

    def ask() -> object:
        try:
            return client.id_()
        except IMAPClientAbortError:
            raise  # the connection is gone: handled like any other command's failure
        except IMAPClientError:
            return None  # ID refused (NO/BAD) although offered: the name is not known

    answer = call("ID", ask)
    flat = answer[0] if isinstance(answer, tuple | list) and answer else None
    if not isinstance(flat, tuple | list):
        return ""
    fields = {_text(key).lower(): value for key, value in zip(flat[::2], flat[1::2], strict=False)}
    name = fields.get("name")
    return _text(name) if name is not None else ""


def _greeting_names(greeting: object) -> str:
    """A server name in the greeting, for servers that answer no ID ("Dovecot ready.")."""
    text = _text(greeting) if isinstance(greeting, bytes | str) else ""
    return next((name for name in HELD_IDLE_ANNOUNCEMENTS if name.lower() in text.lower()), "")


# Servers known to hold an IDLE announcement after the change, and how long: Dovecot
# waits 500 ms (NOTIFY_DELAY_MSECS in its mailbox-watch code) before it tells an idling
# client, but reports new mail at once when IDLE ends. Against them idle_timeout =
# "auto" renews IDLE every IDLE_RENEW_HELD, so new mail is answered within about a
# third of a second; other servers announce at once and keep IDLE_RENEW_DEFAULT, the
# interval at which the daemon's loop comes back anyway (stop requests, scheduled jobs).
HELD_IDLE_ANNOUNCEMENTS = {"Dovecot": 0.5}
IDLE_RENEW_HELD = 0.25
IDLE_RENEW_DEFAULT = 5.0


@dataclass(frozen=True)
class IdleRenewal:
    """How often IDLE is ended and begun again, and why (for `check`)."""

    seconds: float
    note: str


def idle_renewal(settings: ImapSettings, profile: ServerProfile) -> IdleRenewal:
    """``idle_timeout`` as configured, or for "auto" (None) chosen from the server's name."""
    if settings.idle_timeout is not None:
        seconds = min(settings.idle_timeout, IDLE_RENEW_DEFAULT)  # the daemon's loop caps it
        return IdleRenewal(seconds, f"renewed every {seconds:g} s")
    held = {name.lower(): delay for name, delay in HELD_IDLE_ANNOUNCEMENTS.items()}.get(
        profile.software.lower()
    )
    if held is None:
        return IdleRenewal(IDLE_RENEW_DEFAULT, f"renewed every {IDLE_RENEW_DEFAULT:g} s (auto)")
    return IdleRenewal(
        IDLE_RENEW_HELD,
        f"renewed every {IDLE_RENEW_HELD:g} s (auto: {profile.software} holds an IDLE "
        f"announcement {held * 1000:g} ms, but reports new mail at once when IDLE ends)",
    )


def resolve_folder(name: str, profile: ServerProfile) -> ResolvedFolder:
    """``auto``: the ``\\Sent`` special-use folder, else none. Any other name: as given
    when it exists, else under the personal namespace prefix (where it is created)."""
    if name == AUTO:
        found = profile.special_use.get("\\Sent")
        if found is None:
            return ResolvedFolder(None, False, "auto: the server marks no folder \\Sent (SPECIAL-USE)")
        return ResolvedFolder(found, True, f"auto: {found} (the server's \\Sent folder)")
    if profile.exists(name):
        return ResolvedFolder(name, True, f"{name} (exists)")
    prefixed = _under_prefix(name, profile.prefix)
    if prefixed != name and profile.exists(prefixed):
        return ResolvedFolder(
            prefixed, True, f"{prefixed} ({name} under the namespace prefix {profile.prefix!r})"
        )
    return ResolvedFolder(prefixed, False, f"{prefixed} (does not exist yet; created when first needed)")


def choose_marking(settings: ImapSettings, permanent_flags: Iterable[bytes] | None, folder: str) -> Marking:
    """The processed keyword when the folder keeps it, else ``keyword_fallback``.

    PERMANENTFLAGS missing from the SELECT answer means every flag is kept (RFC 3501
    7.1); ``\\*`` means new keywords may be created.
    """
    keyword = settings.processed_keyword
    if permanent_flags is None:
        return Marking("keyword", keyword.encode(), f"keyword {keyword} (no PERMANENTFLAGS limit)")
    flags = {_text(flag).lower() for flag in permanent_flags}
    if "\\*" in flags or keyword.lower() in flags:
        return Marking("keyword", keyword.encode(), f"keyword {keyword} (allowed by PERMANENTFLAGS)")
    shown = " ".join(sorted(_text(flag) for flag in permanent_flags)) or "none"
    why = f"{folder} does not keep the keyword {keyword} (PERMANENTFLAGS: {shown})"
    if settings.keyword_fallback == "seen" and "\\seen" in flags:
        return Marking("seen", b"\\Seen", f"{why}: fallback: processed mail is marked \\Seen")
    return Marking(
        "none", None, f"{why}: fallback: checkpoint only (the UID checkpoint alone says what was processed)"
    )


def check_report(settings: ImapSettings, profile: ServerProfile, folder: str, info: dict) -> str:
    """The ``inbox-agent check`` lines: the folder, what the server offers, and every
    fallback the daemon will use with these settings."""
    marking = choose_marking(settings, info.get(b"PERMANENTFLAGS"), folder)
    lines = [
        f"IMAP ok: {int(info.get(b'EXISTS', 0))} messages in {folder} "
        f"(UIDVALIDITY {int(info.get(b'UIDVALIDITY', 0))})",
        capability_line(profile),
        namespace_line(profile),
        f"processed mail: {marking.note}",
    ]
    if settings.processed_action == "move":
        lines.append(f"processed folder: {resolve_folder(settings.processed_folder, profile).note}")
        lines.append(move_line(profile, marking))
    if not settings.sent_folder:
        lines.append('Sent folder: none (sent_folder = "")')
    else:
        sent = resolve_folder(settings.sent_folder, profile)
        lines.append(f"Sent folder: {sent.note}" + ("" if sent.name else ": " + NO_SENT_FOLDER))
    if settings.idle and not profile.has("IDLE"):
        lines.append("waiting for mail: fallback (no IDLE): polling every poll_interval")
    else:
        how = f"IDLE, {idle_renewal(settings, profile).note}" if settings.idle else "polling (idle = false)"
        lines.append(f"waiting for mail: {how}")
    return "\n  ".join(lines)


def capability_line(profile: ServerProfile) -> str:
    shown = ", ".join(f"{name} {'yes' if profile.has(name) else 'no'}" for name in REPORTED_CAPABILITIES)
    return f"capabilities: {shown}"


def namespace_line(profile: ServerProfile) -> str:
    special = ", ".join(f"{use} {name}" for use, name in sorted(profile.special_use.items())) or "none"
    return (
        f"namespace: personal prefix {profile.prefix!r}, separator {profile.separator!r}; "
        f"special-use folders: {special}"
    )


def move_line(profile: ServerProfile, marking: Marking) -> str:
    if profile.has("MOVE"):
        return "moving processed mail: MOVE"
    flags = "\\Deleted" if marking.mode != "keyword" else f"\\Deleted and {_text(marking.flag or b'')}"
    if profile.has("UIDPLUS"):
        return f"moving processed mail: fallback (no MOVE): COPY, STORE {flags}, UID EXPUNGE"
    return f"moving processed mail: fallback (no MOVE, no UIDPLUS): COPY, STORE {flags}, never EXPUNGE"


def _under_prefix(name: str, prefix: str) -> str:
    if not prefix or name.upper() == "INBOX" or name.upper().startswith(prefix.upper()):
        return name
    return prefix + name


def _first_separator(listing: list[tuple[tuple[bytes, ...], bytes | None, str]]) -> str:
    for _flags, delimiter, _name in listing:
        if delimiter:
            return _text(delimiter)
    return ""


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
