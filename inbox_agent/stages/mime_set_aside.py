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
# Where a stand-in can end up in the tree: a leaf's text, a multipart's preamble or epilogue.
_TEXT_ATTRIBUTES = ("_payload", "preamble", "epilogue")


@dataclass(frozen=True)
class SetAside:
    """The mail to parse (``data``) and the runs its stand-ins stand for."""

    data: bytes
    runs: dict[str, str] = field(default_factory=dict)
    prefix: str = ""

    def put_back(self, root: Message) -> bool:
        """Every stand-in in the tree replaced by its run. False, with the tree left
        half restored, when a stand-in was not found exactly once."""
        if not self.runs:
            return True
        pattern = re.compile(re.escape(self.prefix) + r"\d+")
        found: list[str] = []

        def restored(match: re.Match[str]) -> str:
            found.append(match.group())
            return self.runs.get(match.group(), match.group())

        for part in root.walk():
            for attribute in _TEXT_ATTRIBUTES:
                text = getattr(part, attribute, None)
                if isinstance(text, str) and self.prefix in text:
                    setattr(part, attribute, pattern.sub(restored, text))
        return sorted(found) == sorted(self.runs)


def set_aside(data: bytes) -> SetAside:
    """``data`` with each long base64 run replaced by a stand-in line."""
    if len(data) < MIN_MAIL_BYTES:
        return SetAside(data)
    # Random per mail: a mail cannot hold the stand-in of its own parse.
    prefix = f"inboxagentrun{secrets.token_hex(8)}n"
    pieces: list[bytes] = []
    runs: dict[str, str] = {}
    start = 0
    for match in _RUN.finditer(data):
        if match.end() - match.start() < MIN_RUN_BYTES:
            continue
        # The run's last line end stays: the parser drops a part's last line end, and it
        # must drop the same one.
        end = match.end() - (2 if data[match.end() - 2 : match.end()] == b"\r\n" else 1)
        stand_in = f"{prefix}{len(runs)}"
        pieces += [data[start : match.start()], stand_in.encode("ascii")]
        runs[stand_in] = str(memoryview(data)[match.start() : end], "ascii")  # no bytes copy first
        start = end
    if not runs:
        return SetAside(data)
    pieces.append(data[start:])
    return SetAside(b"".join(pieces), runs, prefix)
