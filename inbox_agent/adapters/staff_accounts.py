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
from dataclasses import asdict
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from inbox_agent.adapters.files import write_atomically
from inbox_agent.services.web_ports import StaffAccount

FILE_NAME = "staff-accounts.json"


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
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        if not isinstance(data, dict):
            raise ValueError(f"{self.path}: not a table of accounts")
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


__all__ = ["FILE_NAME", "StaffAccountsFile"]
