"""A well-formed base64 body is decoded without the email package's copies, to the same bytes.

Differential: ``payload_bytes`` against ``get_payload(decode=True)`` on arbitrary
bodies and transfer-encoding values (a value with blanks around it is decoded as its
token, which the package does not do: tests/test_parse_mislabels.py). The short cut must either give the same bytes
with no defect the package would have added, or leave the part to the package.
"""

from __future__ import annotations

import base64
import email
import random
from email.message import Message
from email.policy import compat32

from hypothesis import given, settings
from hypothesis import strategies as st

from inbox_agent.stages.mime_parts import payload_bytes, plain_base64
from inbox_agent.stages.parse_defects import Defects

# Base64 text, line ends of every kind, padding, and what breaks it (a byte the parser
# could not decode is a lone surrogate, as in a parsed mail).
BODY_CHARACTERS = st.sampled_from(list("AZaz09+/") + ["=", "==", "\r\n", "\n", "\r", "-", " ", "\udcff"])
ENCODINGS = st.sampled_from(["base64", "BASE64", " base64", "base64 ", "quoted-printable", "7bit", ""])


def _part(body: str, encoding: str) -> Message:
    """A part as the parser leaves it: its body is the text between the headers and the boundary."""
    head = f"Content-Transfer-Encoding: {encoding}\n" if encoding else ""
    part = email.message_from_string(f"Content-Type: image/png\n{head}\n", policy=compat32)
    part.set_payload(body)
    return part


def _package(body: str, encoding: str) -> tuple[bytes, list[str]]:
    part = _part(body, encoding)
    decoded = part.get_payload(decode=True)
    return decoded, [type(defect).__name__ for defect in part.defects]


@settings(max_examples=1000, deadline=None)
@given(st.lists(BODY_CHARACTERS, max_size=60).map("".join), ENCODINGS)
def test_any_body_decodes_as_the_email_package_decodes_it(body: str, encoding: str) -> None:
    expected, package_defects = _package(body, encoding)
    short_cut = plain_base64(_part(body, encoding))
    if short_cut is not None:
        assert short_cut == expected
        assert package_defects == []  # the short cut is only taken where nothing was wrong
    # "base64 " is base64 (RFC 2045's token; the package compares the raw value, gh-98188).
    assert payload_bytes(_part(body, encoding), Defects()) == _package(body, encoding.strip())[0]


def test_what_encoders_write_takes_the_short_cut() -> None:
    data = random.Random(3).randbytes(10_000)
    for text in (
        base64.encodebytes(data).decode(),  # 76-character lines, LF
        base64.encodebytes(data).decode().replace("\n", "\r\n"),  # CRLF
        base64.b64encode(data).decode(),  # one line
        base64.encodebytes(data[:9_998]).decode(),  # padded
    ):
        part = _part(text, "base64")
        assert plain_base64(part) == part.get_payload(decode=True) == base64.b64decode(text)
