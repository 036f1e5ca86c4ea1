"""Text clean-up shared by the template contexts and the MIME builder.

Everything that ends up in a header goes through ``single_line``: text a customer
typed, even RFC 2047-encoded CR/LF that a decoder turned back into real line breaks,
can never start a header of its own.
"""

from __future__ import annotations

import re

CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")


def single_line(value: str) -> str:
    """Control characters (CR, LF, TAB, NUL, Unicode line separators) become one space."""
    return CONTROL_CHARS.sub(" ", value)


def normalise_newlines(value: str) -> str:
    return value.replace("\r\n", "\n").replace("\r", "\n")


def truncate(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"
