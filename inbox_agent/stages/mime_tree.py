"""MIME structure: the top-level message and its leaf parts, by whichever parser copes.

* mail-parser (``mailparser.parse_from_bytes``) is tried first because it adds
  useful diagnostics (broken address and date headers) to the defects. Its
  tree is the stdlib ``email`` compat32 tree, which keeps every header's raw
  bytes for our own decoding.
* mail-parser raises on a NUL in a charset name, on encoded display names and
  on odd boundaries; then the same bytes go to the stdlib ``email`` package.
* When even that fails, typically recursing too deep on a multipart bomb, a
  small iterative splitter recovers the leaf parts.
* Very large messages (thousands of parts) skip mail-parser: its per-part
  post-processing triples the parse time and the parser redoes the decoding
  anyway.

Our own walks over the tree are iterative, because nesting may be thousands deep.
"""

from __future__ import annotations

import email
import email.parser
import email.policy
import logging
import re
from email.message import Message

import mailparser
from mailparser.exceptions import MailParserRecursionError

from inbox_agent.stages.mime_boundaries import epilogue_parts, resplit_at_used_boundary
from inbox_agent.stages.mime_parts import content_type_of
from inbox_agent.stages.mime_set_aside import set_aside
from inbox_agent.stages.parse_defects import Defects
from inbox_agent.stages.parser_speedups import install as install_parser_speedups

# Above this many boundary lines mail-parser's extra pass costs seconds and
# adds nothing we need (see the module docstring).
MAILPARSER_MAX_PARTS = 1_000

_COMPAT32 = email.policy.compat32


# mail-parser logs a warning for every part type it does not render itself
# (multipart/report, text/enriched...) and an error for every undecodable
# header; we read those parts and decode those headers here, and record real
# problems in ``defects``, so its log lines would only flood the daemon's log.
logging.getLogger("mailparser").setLevel(logging.CRITICAL)
install_parser_speedups()  # the same trees, without two costs (see that module)


def leaf_parts(root: Message, defects: Defects) -> list[Message]:
    """Leaf parts in document order, without recursion (nesting may be thousands deep).

    An attached mail (``message/*``) is a leaf: it is evidence kept as a file,
    and its text is not the customer's own words. A multipart whose declared
    boundary never appears is split at the boundary its body does use, if any;
    otherwise it stays a leaf and the body step reads it as text.
    """
    leaves: list[Message] = []
    stack = [root]
    while stack:
        part = stack.pop()
        for problem in getattr(part, "defects", ()):
            defects.add(f"mime: {type(problem).__name__} in {content_type_of(part)}")
        payload = part.get_payload() if part.is_multipart() else None
        if payload is None and content_type_of(part).startswith("multipart/"):
            payload = resplit_at_used_boundary(part, defects)
        if isinstance(payload, list) and not content_type_of(part).startswith("message/"):
            stack.extend(reversed(epilogue_parts(part, defects)))
            stack.extend(reversed([sub for sub in payload if isinstance(sub, Message)]))
        else:
            leaves.append(part)
    return leaves


def _split_head_body(chunk: bytes) -> tuple[bytes, bytes]:
    match = re.search(rb"\r?\n\r?\n", chunk)
    if match is None:
        return chunk, b""
    return chunk[: match.end()], chunk[match.end() :]


def _headers_only(chunk: bytes) -> Message:
    return email.parser.BytesParser(policy=_COMPAT32).parsebytes(chunk, headersonly=True)


def _multipart_boundary(headers: Message) -> str | None:
    if headers.get_content_maintype() != "multipart":
        return None
    try:
        boundary = headers.get_boundary()
    except Exception:  # noqa: BLE001 - a broken parameter means "no boundary"
        return None
    return boundary or None


def _flat_parts(data: bytes, defects: Defects) -> tuple[Message, list[Message]]:
    """Split a MIME message into its leaf parts in one pass over the lines, iteratively.

    Only used when the MIME parsers gave up (mostly at the recursion limit): it
    understands just enough MIME (header blocks, boundaries, nesting) to recover every leaf.
    """
    top_head, top_body = _split_head_body(data)
    top = _headers_only(top_head)
    top_boundary = _multipart_boundary(top)
    if top_boundary is None:
        return top, [_headers_only(data)]
    boundaries = [top_boundary]
    leaves: list[Message] = []
    lines: list[bytes] = []
    mode = "skip"  # "skip": preamble or epilogue; "headers"; "body"

    for line in top_body.splitlines(keepends=True):
        delimiter = _delimiter(line, boundaries)
        if delimiter is not None:
            name, closing = delimiter
            if mode in ("headers", "body"):
                leaves.append(_headers_only(b"".join(lines)))
            del boundaries[boundaries.index(name) + 1 :]
            if closing:
                boundaries.pop()
            mode = "skip" if closing else "headers"
            lines = []
            continue
        if mode == "skip":
            continue
        lines.append(line)
        if mode == "headers" and not line.strip():
            nested = _multipart_boundary(_headers_only(b"".join(lines)))
            if nested is not None:
                boundaries.append(nested)
                mode = "skip"  # the nested multipart's preamble
                lines = []
            else:
                mode = "body"
    if mode in ("headers", "body"):
        leaves.append(_headers_only(b"".join(lines)))
        defects.add("mime: missing closing boundary")
    defects.add(f"mime: {len(leaves)} leaf parts recovered without the MIME parser")
    return top, leaves


def _delimiter(line: bytes, boundaries: list[str]) -> tuple[str, bool] | None:
    """``(boundary, is_closing)`` when the line is a delimiter of an open multipart."""
    if not line.startswith(b"--") or not boundaries:
        return None
    marker = line.rstrip(b"\r\n \t")[2:].decode("ascii", errors="replace")
    if marker in boundaries:
        return marker, False
    if marker.endswith("--") and marker[:-2] in boundaries:
        return marker[:-2], True
    return None


# mail-parser sections whose findings we do not reproduce ourselves. Its
# charset findings are left out: we decode with our own fallbacks; its Received
# findings are not looked for (_HeaderDiagnostics.parse).
_MAILPARSER_SECTIONS = ("address-headers", "date-headers")


def _mailparser_findings(parser: mailparser.MailParser) -> list[str]:
    findings: list[str] = []
    for entry in parser.defects:
        for section, messages in entry.items():
            if section not in _MAILPARSER_SECTIONS:
                continue
            findings.extend(f"header: {text}" for text in messages if "invalid-utf8" not in text)
    return findings


class _HeaderDiagnostics(mailparser.MailParser):
    """mail-parser's header pass alone: its address and date diagnostics
    (``_MAILPARSER_SECTIONS``) are found when its state is reset, before the body pass.

    The body pass (decoding every part and attachment into its own lists) is skipped:
    we decode bodies and attachments ourselves, with our own charset fallbacks, so it
    was work done twice — a sixth of the whole parse stage. Should a mail-parser
    release move the diagnostics out of ``_reset``, the full ``parse`` runs instead.
    """

    def parse(self) -> _HeaderDiagnostics:
        reset = getattr(self, "_reset", None)
        if reset is None:  # pragma: no cover - another mail-parser layout: do it all
            return super().parse()  # type: ignore[no-any-return]
        # Its Received pass is left out: a fifth of the whole parse stage (regexes over
        # every hop: 1.88 -> 1.45 ms per mail on the peer corpus), for findings about
        # the relays' headers, not the customer's mail. It reads the headers from the
        # compat32 message's header list, so that list is shown without them for the
        # pass; the tree keeps every Received header, in order (a test).
        message = self.message
        headers = getattr(message, "_headers", None)
        if isinstance(headers, list):
            message._headers = [pair for pair in headers if str(pair[0]).lower() != "received"]
        try:
            reset()
        finally:
            if isinstance(headers, list):
                message._headers = headers
        return self


def _mailparser(data: bytes) -> _HeaderDiagnostics:
    """mail-parser's reading of ``data``, its long base64 runs set aside meanwhile
    (``mime_set_aside``: the same tree at a fraction of the cost)."""
    aside = set_aside(data)
    parser = _HeaderDiagnostics.from_bytes(aside.data)
    if aside.put_back(parser.message):
        return parser
    return _HeaderDiagnostics.from_bytes(data)  # not expected: read the mail as it is


def mime_tree(data: bytes, defects: Defects) -> tuple[Message, list[Message]]:
    """The top-level message and its leaf parts, by the sturdiest parser that copes."""
    estimated_parts = data.count(b"\n--")
    if estimated_parts <= MAILPARSER_MAX_PARTS:
        try:
            parser = _mailparser(data)
            root = parser.message
            for finding in _mailparser_findings(parser):
                defects.add(finding)
            return root, leaf_parts(root, defects)
        except (MailParserRecursionError, RecursionError):
            defects.add("mime: nesting too deep for the MIME parser")
            return _flat_parts(data, defects)
        except Exception as exc:  # noqa: BLE001 - mail-parser's known crashes (see module doc)
            defects.add(
                f"mime: mail-parser failed ({type(exc).__name__}), parsed with the stdlib email package"
            )
    else:
        defects.add(f"mime: {estimated_parts} boundary lines, parsed with the stdlib email package alone")
    try:
        root = email.message_from_bytes(data, policy=_COMPAT32)
        return root, leaf_parts(root, defects)
    except RecursionError:
        defects.add("mime: nesting too deep for the MIME parser")
    except Exception as exc:  # noqa: BLE001 - any stdlib crash still leaves the splitter
        defects.add(f"mime: the stdlib email parser failed ({type(exc).__name__})")
    return _flat_parts(data, defects)
