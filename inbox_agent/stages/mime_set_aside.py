"""Long base64 runs set aside while the MIME parser reads a mail, and put back after.

The stdlib parser (under mail-parser) reads a mail line by line in Python, testing
every line against the open boundaries: a 150 KB screenshot is some 2,000 lines, and
such mails took over half of the parse stage's time. Yet a line made only of base64
characters can never mean anything to the parser. It is not a boundary (those start
with "--"), not a header (no ":"), not a continuation (no leading blank) and not the
blank line that ends the headers. The parser copies it into whatever part, preamble
or epilogue it is reading at that moment.

So each run of such lines is replaced by one stand-in line before the parse (a
random token, itself such a line) and the stand-in is replaced by the run's text in
the tree after it. The tree is then the one the parser would have built from the mail
itself, which a property test checks on arbitrary mail. A stand-in not found exactly
once means the reading was not what this module expects: the caller parses the mail
as it is instead.

A leaf whose whole text is one run (an attachment, as encoders write them) becomes a
``RunLeaf``: its text is read from the mail's bytes each time it is asked for, and
``run_span`` lets the attachment step decode those bytes directly. A 25 MB attachment
is then never held as text beside the mail and its decoded bytes.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from email.message import Message

# Below these sizes setting a mail's runs aside does not pay.
MIN_MAIL_BYTES = 8 * 1024
MIN_RUN_BYTES = 2 * 1024
# A run: lines of the base64 alphabet only, each ended by CRLF or LF (never a lone CR,
# which the parser also reads as a line end), the first one at least 40 long (encoders
# write 64 or 76). Possessive and starting with a long line, so the search is linear
# in the mail's size whatever it holds: a form that tried each line start again read a
# hostile 24 MB mail for 3.4 s instead of 0.04 s.
_RUN = re.compile(rb"^[A-Za-z0-9+/=]{40,}+\r?\n(?:[A-Za-z0-9+/=]++\r?\n)*+", re.MULTILINE)
# Any stand-in (put_back keeps those of its own prefix): one pattern for every mail, so
# the put-back compiles no regex of its own (a pattern per prefix was a compile per mail).
_STAND_IN = re.compile(r"inboxagentrun[0-9a-f]{16}n[0-9]+")
# Where a stand-in can end up in the tree: a leaf's text, a multipart's preamble or epilogue.
_TEXT_ATTRIBUTES = ("_payload", "preamble", "epilogue")


class RunLeaf(Message):
    """A leaf whose text is exactly one run of the mail (``_run_span`` of ``_run_source``).

    The text is a property read from the mail's bytes on each access, so the tree
    reads as the parser's own (``get_payload``, the generator, ``walk``) while holding
    no copy. Setting the text, as ``set_payload`` does, makes it a plain part again.
    """

    _run_source: bytes
    _run_span: tuple[int, int]

    @property  # type: ignore[override]  # Message keeps its text in an attribute
    def _payload(self) -> str:
        start, end = self._run_span
        return str(memoryview(self._run_source)[start:end], "ascii")

    @_payload.setter
    def _payload(self, value: object) -> None:
        self.__class__ = Message  # type: ignore[assignment]
        del self._run_source, self._run_span
        self._payload = value

    def is_multipart(self) -> bool:
        return False  # its text is a string, never a list of parts


def run_span(part: Message) -> tuple[bytes, int, int] | None:
    """For a ``RunLeaf``: the mail's bytes and where the leaf's text lies in them."""
    if not isinstance(part, RunLeaf):
        return None
    return (part._run_source, *part._run_span)


def _as_run_leaf(part: Message, source: bytes, span: tuple[int, int]) -> None:
    part.__dict__.pop("_payload", None)
    part.__class__ = RunLeaf
    part._run_source, part._run_span = source, span  # type: ignore[attr-defined]


@dataclass(frozen=True)
class SetAside:
    """The mail to parse (``data``) and the runs its stand-ins stand for: where each
    lies in the mail as received (``source``)."""

    data: bytes
    runs: dict[str, tuple[int, int]] = field(default_factory=dict)
    prefix: str = ""
    source: bytes = b""

    def text_of(self, stand_in: str) -> str:
        start, end = self.runs[stand_in]
        return str(memoryview(self.source)[start:end], "ascii")  # no bytes copy first

    def _whole_text_span(self, text: str) -> tuple[int, int] | None:
        """Where ``text`` lies in the mail when it is one stand-in, with or without the
        line end after it (which the parser keeps when the part is followed by a blank line)."""
        stand_in = text.rstrip("\r\n")
        if stand_in not in self.runs:
            return None
        start, end = self.runs[stand_in]
        tail = text[len(stand_in) :].encode("ascii")
        if self.source[end : end + len(tail)] != tail:
            return None
        return start, end + len(tail)

    def put_back(self, root: Message) -> bool:
        """Every stand-in in the tree replaced by its run. False, with the tree left
        half restored, when a stand-in was not found exactly once."""
        if not self.runs:
            return True
        found: list[str] = []

        def restored(match: re.Match[str]) -> str:
            token = match.group()
            if not token.startswith(self.prefix):
                return token  # another parse's stand-in, quoted in this mail: text
            found.append(token)
            return self.text_of(token) if token in self.runs else token

        for part in list(root.walk()):
            for attribute in _TEXT_ATTRIBUTES:
                text = getattr(part, attribute, None)
                if not isinstance(text, str) or self.prefix not in text:
                    continue
                span = self._whole_text_span(text) if attribute == "_payload" else None
                if span is not None:
                    found.append(text.rstrip("\r\n"))
                    _as_run_leaf(part, self.source, span)
                else:
                    setattr(part, attribute, _STAND_IN.sub(restored, text))
        return sorted(found) == sorted(self.runs)


def set_aside(data: bytes) -> SetAside:
    """``data`` with each long base64 run replaced by a stand-in line."""
    if len(data) < MIN_MAIL_BYTES:
        return SetAside(data)
    # Random per mail: a mail cannot hold the stand-in of its own parse.
    prefix = f"inboxagentrun{secrets.token_hex(8)}n"  # the shape _STAND_IN finds
    pieces: list[bytes] = []
    runs: dict[str, tuple[int, int]] = {}
    start = 0
    for match in _RUN.finditer(data):
        if match.end() - match.start() < MIN_RUN_BYTES:
            continue
        # The run's last line end stays: the parser drops a part's last line end, and it
        # must drop the same one.
        end = match.end() - (2 if data[match.end() - 2 : match.end()] == b"\r\n" else 1)
        stand_in = f"{prefix}{len(runs)}"
        pieces += [data[start : match.start()], stand_in.encode("ascii")]
        runs[stand_in] = (match.start(), end)
        start = end
    if not runs:
        return SetAside(data)
    pieces.append(data[start:])
    return SetAside(b"".join(pieces), runs, prefix, data)
