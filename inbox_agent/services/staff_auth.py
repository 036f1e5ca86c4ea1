"""Staff sign-in for the web app: Argon2 passwords, throttling, lock-out, audit.

Ten wrong passwords in a row (``[web] max_failed_signins``) lock the account for
``[web] lockout``; the count lives in the accounts file, so restarting the web app
does not reset it. Every attempt — ok, failed, locked, unknown name — is one line in
the audit log. The answer to the browser never says which part was wrong.

A name that matches no account is not written to the audit log as typed: people
type their password into the name field, and the log is read by more people than
the accounts file. The line keeps its length and a short keyed digest instead, so
repeated tries of one name still show as one name (within one run of the web app).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from dataclasses import replace
from datetime import datetime, timedelta

from inbox_agent.config.web import WebSettings
from inbox_agent.domain.clock import iso
from inbox_agent.services.web_ports import ROLES, AuditLog, StaffAccount, StaffDirectory
from inbox_agent.stages.lookalike import skeleton
from inbox_agent.views.words import parse_time

MIN_PASSWORD = 12


class SignInRefused(Exception):
    """Wrong name or password, or a locked account (the message is safe to show)."""


class AccountError(Exception):
    """A staff account command that cannot be done (the message names why)."""


def sign_in(
    directory: StaffDirectory,
    audit: AuditLog,
    settings: WebSettings,
    name: str,
    password: str,
    now: datetime,
    client: str,
) -> StaffAccount:
    account = directory.get(name)
    entry = {"at": iso(now), "event": "sign_in", "user": name, "client": client}
    if account is None:
        # Same work as a real check, so timing does not tell which names exist.
        directory.password_matches(_DUMMY_HASH.get(directory), password)
        entry["user"] = unknown_name_tag(name)
        audit.record({**entry, "outcome": "failed", "reason": "unknown user"})
        raise SignInRefused("wrong name or password")
    locked_until = parse_time(account.locked_until)
    if locked_until is not None and locked_until > now:
        audit.record({**entry, "outcome": "locked", "until": account.locked_until})
        raise SignInRefused(f"this account is locked until {account.locked_until} (too many wrong passwords)")
    if not directory.password_matches(account.password_hash, password):
        _count_failure(directory, audit, settings, account, now, entry)
        raise SignInRefused("wrong name or password")
    if account.failed_signins or account.locked_until:
        directory.save(replace(account, failed_signins=0, locked_until=""))
    audit.record({**entry, "outcome": "ok", "role": account.role})
    return account


def _count_failure(
    directory: StaffDirectory,
    audit: AuditLog,
    settings: WebSettings,
    account: StaffAccount,
    now: datetime,
    entry: dict[str, str],
) -> None:
    failed = account.failed_signins + 1
    if failed >= settings.max_failed_signins:
        until = iso(now + timedelta(seconds=settings.lockout))
        directory.save(replace(account, failed_signins=0, locked_until=until, last_failed_at=iso(now)))
        audit.record({**entry, "outcome": "failed", "reason": "wrong password", "failed_in_a_row": failed})
        audit.record({**entry, "event": "account_locked", "outcome": "locked", "until": until})
        return
    directory.save(replace(account, failed_signins=failed, last_failed_at=iso(now)))
    audit.record({**entry, "outcome": "failed", "reason": "wrong password", "failed_in_a_row": failed})


class _DummyHash:
    """One real Argon2 hash per directory, made lazily, to verify unknown names against."""

    def __init__(self) -> None:
        self._hashes: dict[int, str] = {}

    def get(self, directory: StaffDirectory) -> str:
        key = id(directory)
        if key not in self._hashes:
            self._hashes[key] = directory.hash_password("not a password of anyone")
        return self._hashes[key]


_DUMMY_HASH = _DummyHash()


# Per process, never stored: a digest with a fixed key could be reversed by trying
# every short string, which is what a password typed as a name is.
_UNKNOWN_NAME_KEY = secrets.token_bytes(16)


def unknown_name_tag(name: str) -> str:
    """How the audit log names a sign-in name that matches no account."""
    digest = hashlib.blake2b(name.encode("utf-8", "replace"), key=_UNKNOWN_NAME_KEY, digest_size=5)
    return f"(no such account: {len(name)} characters, #{digest.hexdigest()})"


def proxy_account(
    directory: StaffDirectory, audit: AuditLog, name: str, now: datetime, client: str
) -> StaffAccount:
    """A user named by the trusted reverse proxy: the account must exist (its role)."""
    account = directory.get(name)
    entry = {"at": iso(now), "event": "sign_in", "user": name, "client": client, "via": "proxy header"}
    if account is None:
        audit.record({**entry, "outcome": "failed", "reason": "no such account"})
        raise SignInRefused(f"{name} has no staff account (inbox-agent staff add)")
    return account


def grant_of(account: StaffAccount) -> str:
    """What a session is granted on: the account's role and password (its salted hash).
    Another password, another role, or the account removed and added again all differ."""
    return hashlib.sha256(f"{account.name}\0{account.role}\0{account.password_hash}".encode()).hexdigest()


def still_granted(directory: StaffDirectory, name: str, grant: str) -> bool:
    """Whether a session started with ``grant`` may go on: the account still exists,
    unchanged. Checked on every request, so `staff remove` and `staff passwd` end
    every session of that person at their next click, not at the session's end."""
    account = directory.get(name)
    return account is not None and hmac.compare_digest(grant_of(account), grant)


# A name is shown on every case it touches and in the audit log: letters (any script)
# and digits, with . _ - @, so no control or bidi character can disguise it, and it
# must not look like another account's ("Alice" beside "alice") nor mix look-alike
# scripts (Cyrillic "а" in "аlice").
_NAME_PUNCTUATION = frozenset("._-@")
_MAX_NAME = 64


def _name_problem(directory: StaffDirectory, name: str) -> str | None:
    if not name or len(name) > _MAX_NAME or not all(ch.isalnum() or ch in _NAME_PUNCTUATION for ch in name):
        return f"letters, digits and . _ - @ only, 1 to {_MAX_NAME} characters"
    scripts = {unicodedata.name(ch, "").split(" ")[0] for ch in name if ch.isalpha()}
    if "LATIN" in scripts and scripts & {"CYRILLIC", "GREEK"}:
        return "it mixes Latin letters with Cyrillic or Greek ones that look alike"
    looks = skeleton(name)
    twin = next((other for other in directory.names() if other != name and skeleton(other) == looks), None)
    return f"it looks like the account {twin}" if twin else None


def add_account(directory: StaffDirectory, name: str, role: str, password: str) -> StaffAccount:
    problem = _name_problem(directory, name)
    if problem:
        raise AccountError(f"not a usable name: {name!r}: {problem}")
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r} (use {' or '.join(ROLES)})")
    if directory.get(name) is not None:
        raise AccountError(f"{name} exists already (use `staff passwd` to change the password)")
    account = StaffAccount(name=name, role=role, password_hash=_hashed(directory, password))
    directory.save(account)
    return account


def change_password(directory: StaffDirectory, name: str, password: str) -> StaffAccount:
    account = directory.get(name)
    if account is None:
        raise AccountError(f"no staff account {name}")
    updated = replace(account, password_hash=_hashed(directory, password), failed_signins=0, locked_until="")
    directory.save(updated)
    return updated


def remove_account(directory: StaffDirectory, name: str) -> None:
    if not directory.remove(name):
        raise AccountError(f"no staff account {name}")


def _hashed(directory: StaffDirectory, password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
    return directory.hash_password(password)
