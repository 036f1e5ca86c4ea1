"""Staff accounts of the web app in ``<data_dir>/staff-accounts.json`` (0600).

Passwords are hashed with Argon2id (``argon2-cffi``, its default parameters). The
file is small and rewritten whole (atomic replace) under its own lock file, so the
CLI (`inbox-agent staff add`) and the web process (counting failed sign-ins) never
lose each other's change.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from inbox_agent.adapters.files import write_atomically
from inbox_agent.adapters.sealed import StoreDamaged
from inbox_agent.services.web_ports import ROLES, StaffAccount

FILE_NAME = "staff-accounts.json"
# A damaged file is refused, never read as "no accounts" (which would sign everyone
# out, or let `staff add` start a new table over the old one).
ADVICE = (
    "restore it from a backup (`inbox-agent restore BACKUP`), or move it aside and add "
    "the accounts again (`inbox-agent staff add`)"
)
_FIELD_TYPES = {field.name: (int if field.type == "int" else str) for field in fields(StaffAccount)}


class StaffAccountsFile:
    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / FILE_NAME
        self._hasher = PasswordHasher()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise StoreDamaged(self.path, f"not readable JSON ({exc})", ADVICE) from exc
        if not isinstance(data, dict):
            raise StoreDamaged(self.path, "not a table of accounts", ADVICE)
        for name, doc in data.items():
            fault = _fault(name, doc)
            if fault:
                raise StoreDamaged(self.path, f"the account {name!r} {fault}", ADVICE)
        return data

    def _write(self, data: dict[str, dict[str, Any]]) -> None:
        write_atomically(self.path, json.dumps(data, indent=1, sort_keys=True).encode())

    def get(self, name: str) -> StaffAccount | None:
        doc = self._read().get(name)
        return StaffAccount(**doc) if doc else None

    def names(self) -> list[str]:
        return sorted(self._read())

    def save(self, account: StaffAccount) -> None:
        with self._locked():
            data = self._read()
            data[account.name] = asdict(account)
            self._write(data)

    def remove(self, name: str) -> bool:
        with self._locked():
            data = self._read()
            if data.pop(name, None) is None:
                return False
            self._write(data)
            return True

    def hash_password(self, password: str) -> str:
        return self._hasher.hash(password)

    def password_matches(self, password_hash: str, password: str) -> bool:
        if not password_hash:
            return False
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def _fault(name: str, doc: Any) -> str:
    """Why this entry is not an account as `staff add` writes it ("" when it is)."""
    if not isinstance(doc, dict):
        return "is not a record"
    if set(doc) != set(_FIELD_TYPES):
        return f"has the fields {sorted(doc)}, not {sorted(_FIELD_TYPES)}"
    wrong = [key for key, kind in _FIELD_TYPES.items() if type(doc[key]) is not kind]
    if wrong:
        return f"has a wrong type in {', '.join(wrong)}"
    if doc["name"] != name or doc["role"] not in ROLES:
        return "names another account or an unknown role"
    return ""


__all__ = ["FILE_NAME", "StaffAccountsFile"]
