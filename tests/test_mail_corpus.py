"""Every real-world mail in tests/data/shared/mail ends in a clear outcome: parsed or ParseFailure.

Run with ``pytest -s`` to see the counts and the stalwart agreement ratio.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
from pathlib import Path

from conftest import DATA

from inbox_agent.domain.languages import REPLY_LANGUAGES
from inbox_agent.domain.model import ParsedMessage
from inbox_agent.stages.guard import loop_skip
from inbox_agent.stages.parse import ParseFailure, parse_message

MAIL_DIR = DATA / "mail"
NOT_MAIL = re.compile(r"(LICENSE|COPYING)", re.IGNORECASE)
SAFE_NAME = re.compile(r"[0-9a-f]{16}\.(png|jpg|gif|webp|bmp|tif|heic|pdf|zip|txt|bin)")


def corpus_files() -> list[Path]:
    """.eml files, CPython's msg_*.txt and the extension-less ruby-mail fixture; no licences or .json."""
    files = []
    for path in sorted(MAIL_DIR.rglob("*")):
        if not path.is_file() or NOT_MAIL.search(path.name):
            continue
        if path.suffix == ".eml" or re.fullmatch(r"msg_\w+\.txt", path.name) or path.suffix == "":
            files.append(path)
    return files


def assert_readable(value: str, what: str, path: Path, *, single_line: bool = False) -> None:
    assert isinstance(value, str), (path, what)
    value.encode("utf-8")  # raises on lone surrogates
    assert "\x00" not in value, (path, what)
    if single_line:
        assert "\r" not in value and "\n" not in value, (path, what, value)


def assert_usable(msg: ParsedMessage, path: Path) -> None:
    assert_readable(msg.subject, "subject", path, single_line=True)
    assert_readable(msg.sender, "sender", path, single_line=True)
    # Spaces only inside a quoted local part ("power quadrant system"@example.com).
    assert " " not in msg.sender.rpartition('"')[2], (path, msg.sender)
    assert_readable(msg.sender_name, "sender_name", path, single_line=True)
    assert_readable(msg.text, "text", path)
    assert_readable(msg.new_text, "new_text", path)
    assert_readable(msg.message_id, "message_id", path, single_line=True)
    for name, value in msg.headers:
        assert_readable(value, name, path, single_line=True)
    for attachment in msg.attachments:
        assert_readable(attachment.filename, "attachment name", path, single_line=True)
        assert SAFE_NAME.fullmatch(attachment.safe_name), (path, attachment.safe_name)
    assert msg.date is None or msg.date.tzinfo is not None
    assert msg.language in REPLY_LANGUAGES


def is_delivery_report(raw: bytes) -> bool:
    """Judged with the stdlib alone, independently of our parser."""
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    sender = str(message.get("from", "")).lower()
    return message.get_content_type() == "multipart/report" or "mailer-daemon" in sender


def test_every_corpus_mail_parses_or_fails_cleanly() -> None:
    files = corpus_files()
    assert len(files) > 250, "the corpus looks incomplete"
    parsed = failed = bounces = 0
    crashes: list[str] = []
    unskipped_bounces: list[str] = []
    for path in files:
        raw = path.read_bytes()
        try:
            msg = parse_message(raw)
        except ParseFailure as failure:
            assert failure.reason.strip(), path
            failed += 1
            continue
        except Exception as exc:  # noqa: BLE001 - counted and reported, the assertion below fails
            crashes.append(f"{path.relative_to(MAIL_DIR)}: {type(exc).__name__}: {exc}")
            continue
        parsed += 1
        assert_usable(msg, path)
        if is_delivery_report(raw):
            skip = loop_skip(msg, own_addresses=frozenset({"complaints@wallet.example"}), loop_token="t0k3n")
            if skip is None:
                unskipped_bounces.append(str(path.relative_to(MAIL_DIR)))
            else:
                bounces += 1
    print(
        f"\nmail corpus: {len(files)} files, {parsed} parsed, {failed} parse-failed, "
        f"{bounces} skipped as bounce/report, {len(crashes)} crashes"
    )
    assert crashes == []
    assert unskipped_bounces == []
    assert bounces >= 10  # the corpus has Postfix, Sendmail and Exchange reports


def expected_subject(json_path: Path) -> str | None:
    expected = json.loads(json_path.read_text(encoding="utf-8"))
    parts = expected.get("parts") or [{}]
    for header in parts[0].get("headers", []):
        if header.get("name") == "subject":
            return header["value"].get("Text", "")
    return ""


def normalise(text: str | None) -> str:
    return " ".join((text or "").split())


def lossy_expectation(expected: str, ours: str) -> bool:
    """The .json kept U+FFFD where we decoded a raw 8-bit Latin-1 byte: theirs is the lossy one."""
    if "\ufffd" not in expected or "\ufffd" in ours or len(expected) != len(ours):
        return False
    return all(a == b or a == "\ufffd" for a, b in zip(expected, ours, strict=True))


def test_subjects_agree_with_stalwart_expectations() -> None:
    pairs = sorted((MAIL_DIR / "stalwart").rglob("*.json"))
    assert pairs, "no stalwart expectations found"
    agree = 0
    questionable: list[str] = []
    disagreements: list[str] = []
    for json_path in pairs:
        expected = normalise(expected_subject(json_path))
        try:
            ours = normalise(parse_message(json_path.with_suffix(".eml").read_bytes()).subject)
        except ParseFailure:
            ours = ""
        if ours == expected:
            agree += 1
        elif lossy_expectation(expected, ours):
            questionable.append(json_path.stem)
        else:
            disagreements.append(f"{json_path.relative_to(MAIL_DIR)}: {ours!r} != {expected!r}")
    ratio = agree / len(pairs)
    print(
        f"\nstalwart subjects: {agree}/{len(pairs)} agree ({ratio:.1%}); "
        f"{len(questionable)} where the .json kept U+FFFD for a raw Latin-1 byte we decoded"
    )
    assert disagreements == []
    assert ratio >= 0.9
