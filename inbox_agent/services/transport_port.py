"""The interface every outgoing-mail adapter (SMTP, directory) implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from inbox_agent.domain.model import OutgoingMail, SendResult


class Transport(Protocol):
    def send_batch(self, mails: Sequence[OutgoingMail]) -> list[SendResult]:
        """Deliver mails, one connection for the whole batch; one result per mail.

        Never raises for a delivery problem: connection errors and 4xx answers come
        back as RETRY, 5xx as FAILED.
        """
        ...

    def check(self) -> str:
        """Log in and say so; raise TransportError with a precise reason otherwise."""
        ...


class TransportError(Exception):
    pass
