"""Differential parse harness: where is our parser worse than mail-parser or Python's ``email``?

    python bench/parse_diff.py                      # shared corpus + own mails + generated classes
    python bench/parse_diff.py FOLDER [FOLDER ...]  # also any folder of mails
    python bench/parse_diff.py --only FOLDER        # just that folder
    python bench/parse_diff.py --out DIR            # where flagged mails go
    python bench/parse_diff.py --no-rate            # skip the parse-rate measurement

Every mail is parsed three ways: ``inbox_agent.stages.parse.parse_message``,
mail-parser (``mailparser.parse_from_bytes``) and the stdlib ``email`` package
(``policy.default``; ``compat32`` where ``default`` raises). The fields are
compared one by one (subject, sender address, display name, text, attachment
count and names) and a field is flagged where ours is *worse* than a baseline:

* ``empty``: ours is empty, the baseline has a value (a quarantine empties every field);
* ``shorter_text``: our text is more than 10 % and 20 characters shorter;
* ``more_replacement_chars``: more U+FFFD than the baseline;
* ``fewer_cjk``: fewer Chinese/Japanese/Korean characters;
* ``leftover_encoded_word``: an ``=?…?=`` the baseline decoded;
* ``latin1_mojibake``: a run of Latin-1 letters where the baseline has CJK;
* ``no_domain``: our address has no ``@domain`` and the baseline's has;
* ``fewer_attachments`` / ``fewer_attachment_names``.

Texts are compared with white space collapsed; HTML-only bodies of every parser
go through the same ``html_to_text``. Each flagged mail is copied to ``--out``
with a ``.json`` beside it holding all three parses and the flags. The counts
per class are printed per baseline, then the fields worse than *both*
baselines (the acceptance target: zero) and every field worse than one of them,
with the reason from ``bench/parse_diff_explained.json`` where one is recorded
(a baseline can be wrong). Exit status 1 when a field is worse than both, or a
worse-than-one field has no recorded reason.

Then it prints the parse rate of our parser on the shared corpus (best of three
passes, mails/s; the acceptance floor is 500).
"""

from __future__ import annotations

import argparse
import email
import email.policy
import json
import re
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from email.message import Message
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import mailparser  # noqa: E402

from bench.parse_classes import generate  # noqa: E402
from inbox_agent.stages.message_body import html_to_text  # noqa: E402
from inbox_agent.stages.parse import ParseFailure, parse_message  # noqa: E402

SHARED_MAIL = ROOT / "tests" / "data" / "shared" / "mail"
OWN_MAIL = (ROOT / "tests" / "mails", ROOT / "examples" / "maildir", ROOT / "tests" / "data" / "labelled")
EXPLAINED = Path(__file__).resolve().parent / "parse_diff_explained.json"
DEFAULT_OUT = ROOT / "bench" / "results" / "parse_diff"
BASELINES = ("mail-parser", "email")
HEADERLESS = "headerless"
TEXT_FIELDS = ("subject", "sender_name", "text")
NOT_MAIL = re.compile(r"(LICENSE|COPYING|README)", re.IGNORECASE)
ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?.*?\?=")
LATIN1_RUN = re.compile(r"[\u00a0-\u00ff]{2,}")
SURROGATE = re.compile(r"[\ud800-\udfff]")


@dataclass(frozen=True)
class Fields:
    subject: str = ""
    sender: str = ""
    sender_name: str = ""
    text: str = ""
    attachment_count: int = 0
    attachment_names: tuple[str, ...] = ()
    failure: str = ""
    headerless: bool = False  # the parser found no header at all and read everything as body


# ------------------------------------------------------------------ the three parsers


def ours(raw: bytes) -> Fields:
    try:
        msg = parse_message(raw)
    except ParseFailure as failure:
        return Fields(failure=f"quarantined: {failure.reason}")
    return Fields(
        subject=msg.subject,
        sender=msg.sender,
        sender_name=msg.sender_name,
        text=msg.text,
        attachment_count=len(msg.attachments),
        attachment_names=tuple(attachment.filename for attachment in msg.attachments),
    )


def with_mailparser(raw: bytes) -> Fields | None:
    try:
        parser = mailparser.parse_from_bytes(raw)
        sender_name, sender = next(iter(parser.from_), ("", ""))
        text = "\n".join(parser.text_plain)
        if not text.strip() and parser.text_html:
            text = html_to_text("\n".join(parser.text_html))
        if not text.strip():
            text = "\n".join(parser.text_not_managed)
        names = tuple(str(item.get("filename") or "") for item in parser.attachments)
        headerless = not parser.message.keys()
        # mail-parser returns a list for a header sent twice; the first one counts, as for us.
        subject = parser.subject[0] if isinstance(parser.subject, list) else parser.subject
        return Fields(
            str(subject or ""),
            str(sender or ""),
            str(sender_name or ""),
            text,
            len(names),
            names,
            "",
            headerless,
        )
    except Exception:  # noqa: BLE001 - a baseline that fails has no opinion on this mail
        return None


def with_email(raw: bytes) -> Fields | None:
    try:
        return _email_fields(email.message_from_bytes(raw, policy=email.policy.default))
    except Exception:  # noqa: BLE001 - policy.default raises on some junk; compat32 copes
        pass
    try:
        return _compat32_fields(email.message_from_bytes(raw, policy=email.policy.compat32))
    except Exception:  # noqa: BLE001 - a baseline that fails has no opinion on this mail
        return None


def _email_fields(message: Message) -> Fields:
    from_header = message["from"]
    address = from_header.addresses[0] if from_header is not None and from_header.addresses else None
    body = message.get_body(preferencelist=("plain", "html"))
    text = "" if body is None else body.get_content()
    if body is not None and body.get_content_subtype() == "html":
        text = html_to_text(text)
    # iter_attachments also yields unnamed text parts besides the chosen body
    # (body text for mail-parser and for us, not files) and whole multiparts
    # (containers, whose leaves we count instead).
    attachments = [
        part
        for part in (message.iter_attachments() if message.is_multipart() else ())
        if part.get_filename()
        or part.get_content_disposition() == "attachment"
        or part.get_content_maintype() not in ("text", "multipart")
    ]
    return Fields(
        subject=str(message["subject"] or ""),
        sender=address.addr_spec if address else "",
        sender_name=address.display_name if address else "",
        text=text,
        attachment_count=len(attachments),
        attachment_names=tuple(part.get_filename() or "" for part in attachments),
        headerless=not message.keys(),
    )


def _compat32_fields(message: Message) -> Fields:
    def header_text(name: str) -> str:
        value = message.get(name)
        return "" if value is None else str(email.header.make_header(email.header.decode_header(value)))

    sender_name, sender = email.utils.parseaddr(message.get("from", ""))
    texts = [
        part.get_payload(decode=True).decode(part.get_content_charset() or "ascii", "replace")
        for part in message.walk()
        if part.get_content_type() == "text/plain" and not part.get_filename()
    ]
    names = tuple(part.get_filename() or "" for part in message.walk() if part.get_filename())
    texts_joined = "\n".join(texts)
    return Fields(
        header_text("subject"), sender, sender_name, texts_joined, len(names), names, "", not message.keys()
    )


# ------------------------------------------------------------------ comparison


def cjk_count(text: str) -> int:
    return sum(
        1
        for char in text
        if "\u3040" <= char <= "\u30ff"
        or "\u3400" <= char <= "\u9fff"
        or "\uac00" <= char <= "\ud7af"
        or "\U00020000" <= char <= "\U0002ffff"
    )


def replacement_count(text: str) -> int:
    """U+FFFD, and the lone surrogates compat32 leaves for undecodable bytes."""
    return text.count("\ufffd") + len(SURROGATE.findall(text))


def collapse(text: str) -> str:
    return " ".join(text.split())


def text_flags(ours_text: str, theirs: str) -> list[str]:
    """The ways one decoded text of ours is worse than the baseline's."""
    flags: list[str] = []
    if not ours_text.strip():
        return ["empty"] if theirs.strip() else []
    if ENCODED_WORD.search(ours_text) and not ENCODED_WORD.search(theirs):
        flags.append("leftover_encoded_word")
    ours_lost, their_lost = replacement_count(ours_text), replacement_count(theirs)
    # Fewer U+FFFD only counts when the baseline decoded at least as much text.
    if ours_lost > their_lost and len(collapse(theirs)) + ours_lost >= len(collapse(ours_text)):
        flags.append("more_replacement_chars")
    ours_cjk, their_cjk = cjk_count(ours_text), cjk_count(theirs)
    if ours_cjk < their_cjk:
        flags.append("fewer_cjk")
    if LATIN1_RUN.search(ours_text) and their_cjk and not LATIN1_RUN.search(theirs):
        flags.append("latin1_mojibake")
    return flags


def _shorter(ours_text: str, theirs: str) -> bool:
    """More than 10 % and 20 characters shorter, unless ours decoded more CJK (2+ bytes each)."""
    mine, other = len(collapse(ours_text)), len(collapse(theirs))
    return (
        bool(mine) and mine < 0.9 * other and other - mine > 20 and cjk_count(ours_text) <= cjk_count(theirs)
    )


def _address_key(address: str) -> str:
    """Lower case, no quotes; ``<>`` (the null sender) is no address."""
    return address.lower().replace('"', "").strip().strip("<>").strip()


def field_flags(ours_fields: Fields, theirs: Fields) -> dict[str, list[str]]:
    """Field name -> the classes in which ours is worse than ``theirs``."""
    flags: dict[str, list[str]] = {}
    for name in TEXT_FIELDS:
        found = text_flags(getattr(ours_fields, name), getattr(theirs, name))
        if name == "text" and _shorter(ours_fields.text, theirs.text):
            found.append("shorter_text")
        if found:
            flags[name] = found
    mine, other = _address_key(ours_fields.sender), _address_key(theirs.sender)
    if not mine and other:
        flags["sender"] = ["empty"]
    elif "@" not in mine and "@" in other:
        flags["sender"] = ["no_domain"]
    if ours_fields.attachment_count < theirs.attachment_count:
        flags["attachments"] = ["fewer_attachments"]
    named = [name for name in ours_fields.attachment_names if name.strip()]
    their_named = [name for name in theirs.attachment_names if name.strip()]
    name_flags = [] if len(named) < len(their_named) else text_flags(" ".join(named), " ".join(their_named))
    if len(named) < len(their_named):
        name_flags.append("fewer_attachment_names")
    if [flag for flag in name_flags if flag != "empty"]:
        flags["attachment_names"] = [flag for flag in name_flags if flag != "empty"]
    return flags


# ------------------------------------------------------------------ corpus and run


def mail_files(folder: Path) -> list[Path]:
    """Mail-looking files: .eml, CPython's msg_*.txt, Maildir and extension-less fixtures."""
    files = []
    for path in sorted(folder.rglob("*")):
        if (
            not path.is_file()
            or NOT_MAIL.search(path.name)
            or path.name.startswith(".")
            or "__pycache__" in path.parts
        ):
            continue
        if (
            path.suffix in (".eml", ".msg", "")
            or re.fullmatch(r"msg_\w+\.txt", path.name)
            or ".M" in path.name
        ):
            files.append(path)
    return files


def corpus(folders: Iterable[Path], *, classes: bool) -> list[tuple[str, bytes]]:
    mails: list[tuple[str, bytes]] = []
    for folder in folders:
        for path in mail_files(folder):
            mails.append((f"{folder.name}/{path.relative_to(folder)}", path.read_bytes()))
    if classes:
        mails.extend((f"classes/{generated.name}", generated.raw) for generated in generate())
    return mails


@dataclass
class Finding:
    mail_id: str
    field: str
    baseline: str
    flags: list[str]
    reason: str = ""  # why the baseline is the one that is wrong, when a rule knows


# Where a baseline is wrong by rule, not by opinion (each rule checks its premise).
_MIME_SYNTAX = re.compile(r"^--\S.*\n(?:.*\n)?\s*content-type\s*:", re.IGNORECASE | re.MULTILINE)
ATTACHED_MAIL_TEXT = (
    "the baseline adds the text of attached mails (message/*); we keep those as .eml attachments "
    "and read their text only when the mail has none of its own (RFC 8621 4.1.4 leaves them out of textBody)"
)
MIME_SYNTAX_TEXT = (
    "the baseline's extra text is MIME syntax (delimiter and part-header lines) it did not split"
)


UNDECODED_TEXT = (
    "the baseline's extra text is a body it left transfer-encoded: its Content-Transfer-Encoding "
    "has blanks around the mechanism (RFC 2045 allows them; CPython gh-98188)"
)
_ENCODED_RUN = re.compile(r"(?:=[0-9A-F]{2}){2}|[A-Za-z0-9+/]{60}")


def _has_padded_transfer_encoding(raw: bytes) -> bool:
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    for part in message.walk():
        value = part.get("content-transfer-encoding")
        if not isinstance(value, str):
            continue
        bare = value.strip().lower()
        if bare != value.lower() and bare in ("base64", "quoted-printable"):
            return True
    return False


def _has_attached_mail(raw: bytes) -> bool:
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    return any(part.get_content_maintype() == "message" for part in message.walk())


PGP_ARMOUR_TEXT = (
    "the baseline's extra text is OpenPGP armour (an encrypted block, or a clear-signed text's "
    "Hash header and signature) that nobody can read as words; ours removes it and marks the mail "
    "encrypted when a block was encrypted"
)
PGP_CONTROL_PART = (
    "the baseline reads PGP/MIME's control part ('Version: 1', RFC 3156 section 4) as text or as a "
    "file; it carries nothing, and ours marks the mail encrypted instead"
)


def _has_pgp_control_part(raw: bytes) -> bool:
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    return any(part.get_content_type() == "application/pgp-encrypted" for part in message.walk())


def explain_by_rule(field: str, flags: list[str], mine: Fields, theirs: Fields, raw: bytes) -> str:
    if field == "attachments" and flags == ["fewer_attachments"] and _has_pgp_control_part(raw):
        return PGP_CONTROL_PART
    if field != "text" or not set(flags) <= {"shorter_text", "empty", "fewer_cjk"}:
        return ""
    if "-----BEGIN PGP " in theirs.text and "-----BEGIN PGP " not in mine.text:
        return PGP_ARMOUR_TEXT
    if theirs.text.strip() == "Version: 1" and _has_pgp_control_part(raw):
        return PGP_CONTROL_PART
    if _MIME_SYNTAX.search(theirs.text) and not _MIME_SYNTAX.search(mine.text):
        return MIME_SYNTAX_TEXT
    if collapse(mine.text) in collapse(theirs.text) and _has_attached_mail(raw):
        return ATTACHED_MAIL_TEXT
    encoded_in_theirs = _ENCODED_RUN.search(theirs.text) and not _ENCODED_RUN.search(mine.text)
    if encoded_in_theirs and _has_padded_transfer_encoding(raw):
        return UNDECODED_TEXT
    return ""


def diff_mail(mail_id: str, raw: bytes) -> tuple[list[Finding], dict[str, Fields | None]]:
    """Our worse fields against each baseline that has an opinion on this mail.

    A baseline that found no header at all read the header block as body text:
    when ours found the headers, its fields mean something else and are not
    compared; when ours quarantined the bytes as no mail, nobody parsed a mail
    and the mail is listed under ``HEADERLESS`` instead.
    """
    parses: dict[str, Fields | None] = {
        "ours": ours(raw),
        "mail-parser": with_mailparser(raw),
        "email": with_email(raw),
    }
    mine = parses["ours"]
    assert mine is not None
    findings = []
    for baseline in BASELINES:
        theirs = parses[baseline]
        if theirs is None:
            continue
        if theirs.headerless:
            if mine.failure:
                findings.append(Finding(mail_id, HEADERLESS, baseline, ["no header found by either"]))
            continue
        for field, flags in field_flags(mine, theirs).items():
            reason = explain_by_rule(field, flags, mine, theirs, raw)
            findings.append(Finding(mail_id, field, baseline, flags, reason))
    return findings, parses


def parse_rate(raws: list[bytes], passes: int = 5) -> float:
    """Mails per second of our parser alone, best of ``passes``, after one warm-up pass."""
    best = 0.0
    for attempt in range(passes + 1):
        started = time.perf_counter()
        for raw in raws:
            ours(raw)
        elapsed = time.perf_counter() - started
        if attempt:
            best = max(best, len(raws) / elapsed)
    return best


def _write_flagged(out: Path, mail_id: str, raw: bytes, findings: list[Finding], parses: dict) -> None:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", mail_id)
    (out / f"{stem}.eml").write_bytes(raw)
    record = {
        "mail": mail_id,
        "findings": [asdict(finding) for finding in findings],
        "parses": {name: None if fields is None else asdict(fields) for name, fields in parses.items()},
    }
    # A baseline's text may hold lone surrogates (compat32's undecodable bytes).
    text = json.dumps(record, ensure_ascii=False, indent=1)
    (out / f"{stem}.json").write_bytes(text.encode("utf-8", errors="backslashreplace"))


def run(mails: list[tuple[str, bytes]], out: Path | None) -> list[Finding]:
    if out is not None:
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
    every: list[Finding] = []
    for mail_id, raw in mails:
        findings, parses = diff_mail(mail_id, raw)
        every.extend(findings)
        if findings and out is not None:
            _write_flagged(out, mail_id, raw, findings, parses)
    return every


def worse_than_both(findings: list[Finding]) -> set[tuple[str, str]]:
    """Fields both baselines read better, unless a rule shows a baseline is the one wrong
    (only armour-free text is that for both at once, so far)."""
    by_field: dict[tuple[str, str], set[str]] = {}
    for finding in findings:
        if finding.reason == PGP_ARMOUR_TEXT:
            continue
        by_field.setdefault((finding.mail_id, finding.field), set()).add(finding.baseline)
    return {key for key, baselines in by_field.items() if baselines == set(BASELINES)}


def report(every: list[Finding], mails: int, explained: dict[str, str], print_: Callable = print) -> int:
    """Print the counts and lists; return the number of unacceptable fields."""
    print_(f"{mails} mails compared")
    headerless = sorted({finding.mail_id for finding in every if finding.field == HEADERLESS})
    print_(f"no header found by any parser (ours quarantines them as no mail): {len(headerless)}")
    for mail_id in headerless:
        print_(f"  HEADERLESS {mail_id}")
    findings = [finding for finding in every if finding.field != HEADERLESS]
    for baseline in BASELINES:
        counts = Counter(
            flag for finding in findings if finding.baseline == baseline for flag in finding.flags
        )
        fields = len({(f.mail_id, f.field) for f in findings if f.baseline == baseline})
        listed = ", ".join(f"{flag} {count}" for flag, count in sorted(counts.items())) or "none"
        print_(f"worse than {baseline}: {fields} fields ({listed})")
    both = sorted(worse_than_both(findings))
    print_(f"worse than both baselines: {len(both)} fields")
    for mail_id, field in both:
        print_(f"  BOTH {mail_id} {field}: {_flags_of(findings, mail_id, field)}")
    one = sorted({(f.mail_id, f.field) for f in findings} - set(both))
    reasons = {key: _reason(findings, explained, *key) for key in one}
    unexplained = [key for key in one if not reasons[key]]
    print_(f"worse than one baseline: {len(one)} fields, {len(unexplained)} without a recorded reason")
    for mail_id, field in one:
        reason = reasons[(mail_id, field)] or "NO REASON RECORDED"
        print_(f"  ONE {mail_id} {field}: {_flags_of(findings, mail_id, field)} -- {reason}")
    return len(both) + len(unexplained)


def _reason(findings: list[Finding], explained: dict[str, str], mail_id: str, field: str) -> str:
    """The recorded reason (bench/parse_diff_explained.json) or the rule's, else ""."""
    rule = {f.reason for f in findings if f.mail_id == mail_id and f.field == field}
    return explained.get(f"{mail_id}::{field}") or (rule.pop() if len(rule) == 1 else "")


def _flags_of(findings: list[Finding], mail_id: str, field: str) -> str:
    return "; ".join(
        f"{f.baseline}: {','.join(f.flags)}" for f in findings if f.mail_id == mail_id and f.field == field
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="*", type=Path, help="more folders of mails to compare")
    parser.add_argument("--only", action="store_true", help="compare only the folders given")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"flagged mails go here ({DEFAULT_OUT})"
    )
    parser.add_argument("--no-rate", action="store_true", help="skip the parse-rate measurement")
    args = parser.parse_args(argv)
    folders = list(args.folders) if args.only else [SHARED_MAIL, *OWN_MAIL, *args.folders]
    missing = [str(folder) for folder in folders if not folder.is_dir()]
    if missing:
        print(f"not a folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    # The rate is measured first, before three parsers' worth of objects fill the heap.
    shared = [raw for _id, raw in corpus([SHARED_MAIL], classes=False)]
    rate = None if args.no_rate else parse_rate(shared)
    mails = corpus(folders, classes=not args.only)
    findings = run(mails, args.out)
    explained = json.loads(EXPLAINED.read_text(encoding="utf-8")) if EXPLAINED.exists() else {}
    problems = report(findings, len(mails), explained)
    print(f"flagged mails written to {args.out}")
    if rate is not None:
        print(f"parse rate on the shared corpus ({len(shared)} mails): {rate:.0f} mails/s")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
