"""Two costs of the MIME parsers we use, removed without changing a single result.

Both are installed once, when ``stages.mime_tree`` is imported, and both give exactly
the objects the unchanged code gives (tests/test_parser_speedups.py compares them with
hypothesis and on every mail of ``tests/mails``):

* **The boundary pattern.** For every multipart, the standard library's ``email``
  feed parser compiles a regular expression holding that multipart's boundary
  (``'(?P<sep>' + re.escape('--' + boundary) + ...``). Boundaries are random, so
  ``re``'s cache never hits, and compiling costs about 100 µs: a fifth of the standard
  parser's time on a typical complaint (55 of 300 µs on the peer benchmark's mail).
  The parser looks that name up in its own module, so that module's ``re`` is given
  a stand-in whose ``compile`` returns, for exactly that pattern, a matcher doing the
  same match as a prefix test followed by the pattern's tail compiled once; every
  other pattern, and every other attribute, is ``re``'s own.
* **The address headers.** mail-parser reads every address header of every mail for
  its diagnostics (``_HeaderDiagnostics`` in ``stages.mime_tree``), and its address
  reader is pure Python: about 35 µs a header. ``To`` and ``Delivered-To`` are our own
  complaint address on nearly every mail, so its results are remembered by header
  text (the last 512), and each caller gets its own copies.
"""

from __future__ import annotations

import copy
import email.feedparser
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import mailparser.core

# The pattern email.feedparser builds (CPython 3.8 to 3.13): prefix, escaped separator, tail.
_PREFIX = "(?P<sep>"
_TAIL_SOURCE = r"(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"
_SUFFIX = ")" + _TAIL_SOURCE
_TAIL = re.compile(_TAIL_SOURCE)
_ESCAPED_CHARACTER = re.compile(r"\\(.)", re.S)


class BoundaryMatch:
    """What the parser reads of a boundary match: ``group(0)``, ``group(name)``."""

    __slots__ = ("_line", "_separator", "_tail")

    def __init__(self, line: str, separator: str, tail: re.Match[str]) -> None:
        self._line = line
        self._separator = separator
        self._tail = tail

    def group(self, name: int | str = 0) -> str | None:
        if name == 0:
            return self._line[: self._tail.end()]
        if name == "sep":
            return self._separator
        return self._tail.group(name)

    def end(self) -> int:
        return self._tail.end()


class BoundaryPattern:
    """``re.compile('(?P<sep>' + re.escape(separator) + tail).match``, without compiling."""

    __slots__ = ("match", "pattern")

    def __init__(self, pattern: str, separator: str) -> None:
        self.pattern = pattern
        size = len(separator)
        tail = _TAIL.match

        # A closure, not a method: the parser calls it for every line of every
        # enclosing multipart, so one attribute lookup less per call counts.
        def match(line: str) -> BoundaryMatch | None:
            if not line.startswith(separator):
                return None
            found = tail(line, size)
            return BoundaryMatch(line, separator, found) if found else None

        self.match: Callable[[str], BoundaryMatch | None] = match


def boundary_separator(pattern: object) -> str | None:
    """The separator of a feed parser boundary pattern; None for any other pattern."""
    if not isinstance(pattern, str) or not pattern.startswith(_PREFIX) or not pattern.endswith(_SUFFIX):
        return None
    escaped = pattern[len(_PREFIX) : -len(_SUFFIX)]
    separator = _ESCAPED_CHARACTER.sub(r"\1", escaped)
    # Only a separator that re.escape writes exactly so: anything else is left to re.
    return separator if re.escape(separator) == escaped else None


class _FeedParserRe:
    """``re`` as the feed parser module sees it, with the boundary pattern built cheaply."""

    def __getattr__(self, name: str) -> Any:
        return getattr(re, name)

    @staticmethod
    def compile(pattern: Any, flags: int = 0) -> Any:
        separator = boundary_separator(pattern) if flags == 0 else None
        if separator is None:
            return re.compile(pattern, flags)
        return BoundaryPattern(pattern, separator)


_ORIGINAL_GET_ADDRESSES = getattr(mailparser.core, "get_addresses", None)


@lru_cache(maxsize=512)
def _remembered_addresses(value: str) -> tuple[tuple[Any, ...], tuple[dict[str, Any], ...]]:
    assert _ORIGINAL_GET_ADDRESSES is not None
    diagnostics: list[dict[str, Any]] = []
    addresses = _ORIGINAL_GET_ADDRESSES(value, defects=diagnostics, decode_names=True)
    return tuple(addresses), tuple(diagnostics)


def remembered_get_addresses(
    raw_header: Any, *, defects: list[Any] | None = None, decode_names: bool = False
) -> list[Any]:
    """mail-parser's ``get_addresses``, its result remembered for plain header text."""
    assert _ORIGINAL_GET_ADDRESSES is not None
    if type(raw_header) is not str or not decode_names:
        return _ORIGINAL_GET_ADDRESSES(raw_header, defects=defects, decode_names=decode_names)  # type: ignore[no-any-return]
    addresses, diagnostics = _remembered_addresses(raw_header)
    if defects is not None:
        # mail-parser adds the header's name to each diagnostic: every caller its own
        # copies (diagnostics are rare, so a deep copy costs nothing that counts).
        defects.extend(copy.deepcopy(diagnostics))
    return list(addresses)


def install() -> None:
    """Put both in place (idempotent). A layout either change does not expect is left alone."""
    if not isinstance(email.feedparser.re, _FeedParserRe):
        email.feedparser.re = _FeedParserRe()  # type: ignore[assignment]
    if _ORIGINAL_GET_ADDRESSES is not None and mailparser.core.get_addresses is _ORIGINAL_GET_ADDRESSES:
        mailparser.core.get_addresses = remembered_get_addresses
