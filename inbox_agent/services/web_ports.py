"""Ports of the staff web app: staff accounts and the audit log (adapters implement them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

ROLES = ("agent", "supervisor")


@dataclass(frozen=True)
class StaffAccount:
    name: str
    role: str  # "agent" | "supervisor"
    password_hash: str = ""  # Argon2id, "" for an account that signs in through the proxy only
    failed_signins: int = 0  # wrong passwords in a row
    locked_until: str = ""  # ISO-8601 UTC; "" = not locked
    last_failed_at: str = ""


class StaffDirectory(Protocol):
    """The staff accounts (one file in the data directory, 0600)."""

    def get(self, name: str) -> StaffAccount | None: ...

    def names(self) -> list[str]: ...

    def save(self, account: StaffAccount) -> None: ...

    def remove(self, name: str) -> bool: ...

    def hash_password(self, password: str) -> str: ...

    def password_matches(self, password_hash: str, password: str) -> bool: ...


class AuditLog(Protocol):
    """Every sign-in (ok, failed, locked) and every action from the web app, appended."""

    def record(self, entry: dict[str, Any]) -> None: ...

    def entries(self) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class SearchableCase:
    """A case with the text the queue's search looks in (its mails' text, lower-cased)."""

    case: Any  # domain.model.Case
    text: str


class CaseSnapshots(Protocol):
    """Every stored case, fresh: what another process (the daemon) committed is seen."""

    def searchable_shards(self) -> list[tuple[str, int, list[SearchableCase]]]:
        """(shard name, generation, its cases): a shard's cases change only with its generation."""
        ...

    def generation(self) -> int: ...

    def attachment_bytes(self, safe_name: str) -> bytes: ...
