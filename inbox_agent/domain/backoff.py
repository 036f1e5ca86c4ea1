"""Retry delays: one capped exponential schedule for the outbox, the daemon's mailbox
retries and the adapters."""

from __future__ import annotations

import random
from collections.abc import Iterator

# +-10 %: enough to keep several daemons (or IMAP and SMTP) from retrying in lock-step,
# small enough that ops can still read the schedule from the settings.
JITTER = 0.1


def capped_delay(attempt: int, initial: float, maximum: float) -> float:
    """The delay before retry number ``attempt`` (1, 2, ...): initial, 2x, 4x ... up to
    maximum seconds. Deterministic, so ops can read a schedule off the settings."""
    return min(maximum, initial * (2 ** max(0, attempt - 1)))


def backoff_delays(initial: float, maximum: float, *, rng: random.Random | None = None) -> Iterator[float]:
    """Endless capped exponential delays in seconds: ~initial, ~2*initial, ... up to maximum.

    Each delay carries a little jitter but never exceeds ``maximum``. Start a new
    iterator after a success.
    """
    if initial <= 0 or maximum <= 0:
        raise ValueError("backoff delays must be positive")
    source = rng or random.Random()
    base = min(initial, maximum)
    while True:
        yield min(maximum, base * source.uniform(1 - JITTER, 1 + JITTER))
        base = min(base * 2, maximum)
