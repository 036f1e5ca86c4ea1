"""Mails of every failure class the parser must close (issue 12), in every charset it applies to.

Each class is a way real mail, written by mailers nobody here controls, lost
text in our parser while mail-parser or Python's ``email`` kept it: a multipart
whose boundary never appears, encoded words with literal spaces or a cut
multibyte character, raw 8-bit headers, a comma inside an encoded display name,
a garbage first From, spaces inside an address, inline images named only by
their Content-ID, junk before the headers, unknown charset aliases and
ISO-2022-JP text sent without a label.

``generate()`` returns :class:`GeneratedMail` records: the raw bytes and what a
correct parse must contain. ``tests/test_parse_classes.py`` asserts the
expectations; ``bench/parse_diff.py --classes`` feeds the same bytes to the
differential harness. Pure and deterministic: no randomness, no files.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Sample:
    """A charset label, the Python codec that writes it, and text in its script."""

    label: str
    codec: str
    subject: str
    body: str
    name: str


_ZH_BODY = "我昨天向朋友转账五百元，页面显示交易失败，但是余额已经扣除了。请尽快处理。"
_ZH_T_BODY = "我昨天向朋友轉帳五百元，頁面顯示交易失敗，但是餘額已經扣除了。請盡快處理。"
_JA_BODY = (
    "昨日、友人に五千円を振り込みましたが、失敗と表示され、残高は引かれています。至急対応してください。"
)
_KO_BODY = "어제 친구에게 오만 원을 송금했는데 실패로 표시되었지만 잔액은 빠져나갔습니다. 빨리 처리해 주세요."

SAMPLES: dict[str, Sample] = {
    sample.label: sample
    for sample in (
        Sample("gb2312", "gb2312", "转发：整体转账失败", _ZH_BODY, "王小明"),
        # 镕 and 堃 are GBK-only: a strict gb2312 decoder loses them.
        Sample("gbk", "gbk", "镕堃的转账失败了", _ZH_BODY, "王镕堃"),
        # 𠮷 is a four-byte GB18030 sequence, outside GBK.
        Sample("gb18030", "gb18030", "𠮷野家的付款失败", _ZH_BODY, "吉田𠮷"),
        Sample("big5", "big5", "轉帳失敗，錢被扣了", _ZH_T_BODY, "陳大文"),
        Sample("iso-2022-jp", "iso2022_jp", "振込が失敗しました", _JA_BODY, "山田太郎"),
        Sample("shift_jis", "shift_jis", "振込が失敗しました", _JA_BODY, "山田太郎"),
        Sample("euc-kr", "euc_kr", "송금이 실패했습니다", _KO_BODY, "김민수"),
        Sample("utf-7", "utf-7", "转账失败，钱被扣了", _ZH_BODY, "王小明"),
        Sample("utf-8", "utf-8", "转账失败，钱被扣了", _ZH_BODY, "王小明"),
    )
}
ALL_CHARSETS = tuple(SAMPLES)
# Charsets whose characters take more than one byte: a cut encoded word applies.
MULTIBYTE = ("gb2312", "gbk", "gb18030", "big5", "shift_jis", "euc-kr", "utf-8")
# 8-bit charsets a mailer may write raw into a header.
RAW_8BIT = ("gb2312", "gbk", "gb18030", "big5", "shift_jis", "euc-kr", "utf-8")
# Raw Chinese bytes are recognised even when the body declares another charset
# or none: short Korean or Japanese runs are not (their byte ranges overlap GBK),
# so those are tested with the body's charset as the mailer's hint.
RAW_WITHOUT_HINT = ("gb2312", "gbk", "gb18030", "big5", "utf-8")

SENDER = "customer@example.com"


@dataclass(frozen=True)
class Expect:
    """What a correct parse gives; ``None`` means "not checked"."""

    subject: str | None = None
    sender: str | None = None
    sender_name: str | None = None
    text_contains: tuple[str, ...] = ()
    attachment_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class GeneratedMail:
    failure_class: str
    charset: str
    variant: str
    raw: bytes
    expect: Expect = field(default_factory=Expect)

    @property
    def name(self) -> str:
        return f"{self.failure_class}-{self.charset}-{self.variant}"


# --------------------------------------------------------------- building blocks


def b_word(text: str, sample: Sample) -> str:
    return f"=?{sample.label}?B?{base64.b64encode(text.encode(sample.codec)).decode('ascii')}?="


def q_word(text: str, sample: Sample, *, literal_spaces: bool = False) -> str:
    return f"=?{sample.label}?Q?{q_payload(text.encode(sample.codec), literal_spaces=literal_spaces)}?="


def q_payload(data: bytes, *, literal_spaces: bool = False) -> str:
    out = []
    for byte in data:
        char = chr(byte)
        if byte == 0x20:
            out.append(" " if literal_spaces else "_")
        elif 0x21 <= byte <= 0x7E and char not in "=?_":
            out.append(char)
        else:
            out.append(f"={byte:02X}")
    return "".join(out)


def build(headers: list[tuple[str, str | bytes]], body: bytes, *, preamble: bytes = b"") -> bytes:
    """A mail from (name, value) pairs; a bytes value goes on the wire unchanged (raw 8-bit)."""
    lines = [preamble] if preamble else []
    for name, value in headers:
        raw = value if isinstance(value, bytes) else value.encode("ascii")
        lines.append(name.encode("ascii") + b": " + raw + b"\r\n")
    return b"".join(lines) + b"\r\n" + body


def _base_headers(subject: str | bytes = "complaint") -> list[tuple[str, str | bytes]]:
    return [
        ("From", f"Customer <{SENDER}>"),
        ("To", "complaints@wallet.example"),
        ("Subject", subject),
        ("Date", "Mon, 02 Mar 2026 10:00:00 +0800"),
        ("Message-ID", "<generated@example.com>"),
        ("MIME-Version", "1.0"),
    ]


def _crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


# --------------------------------------------------------------- the classes


def boundary_missing() -> Iterator[GeneratedMail]:
    """``Content-Type: multipart/*`` whose boundary never appears: the body is text (the 32.7 %)."""
    for label, sample in SAMPLES.items():
        encoded = _crlf(f"{sample.body}\n\n{sample.body}\n").encode(sample.codec)
        for variant, content_type in (
            ("alternative", f'multipart/alternative; boundary="----=_NextPart_000_0001"; charset="{label}"'),
            ("mixed", f'multipart/mixed; boundary="=_missing_boundary"; charset={label}'),
            ("no-boundary-param", f"multipart/mixed; charset={label}"),
        ):
            headers = [*_base_headers(), ("Content-Type", content_type)]
            yield GeneratedMail("boundary_missing", label, variant, build(headers, encoded), _body(sample))
        base64_body = base64.encodebytes(encoded).replace(b"\n", b"\r\n")
        headers = [
            *_base_headers(),
            ("Content-Type", f'multipart/related; boundary="abc"; charset="{label}"'),
            ("Content-Transfer-Encoding", "base64"),
        ]
        yield GeneratedMail("boundary_missing", label, "base64", build(headers, base64_body), _body(sample))
    # No charset anywhere: the bytes must be recognised (the Chinese mailers' case).
    for label in ("gb2312", "gbk", "gb18030", "big5", "iso-2022-jp", "utf-8"):
        sample = SAMPLES[label]
        headers = [*_base_headers(), ("Content-Type", 'multipart/alternative; boundary="----=_Part_9"')]
        raw = build(headers, _crlf(sample.body + "\n").encode(sample.codec))
        yield GeneratedMail("boundary_missing", label, "undeclared-charset", raw, _body(sample))


def _body(sample: Sample) -> Expect:
    return Expect(sender=SENDER, text_contains=(sample.body,))


def boundary_mismatched() -> Iterator[GeneratedMail]:
    """The declared boundary differs from the one the parts use: the parts are still found."""
    for label, sample in SAMPLES.items():
        real = "----=_Part_1234_REAL"
        png = base64.b64encode(_PNG).decode("ascii")
        parts = _crlf(
            f"--{real}\n"
            f'Content-Type: text/plain; charset="{label}"\n'
            "Content-Transfer-Encoding: base64\n\n"
            f"{base64.b64encode(sample.body.encode(sample.codec)).decode('ascii')}\n"
            f"--{real}\n"
            'Content-Type: image/png; name="receipt.png"\n'
            "Content-Transfer-Encoding: base64\n\n"
            f"{png}\n"
            f"--{real}--\n"
        ).encode("ascii")
        headers = [*_base_headers(), ("Content-Type", 'multipart/mixed; boundary="----=_Part_1234_DECLARED"')]
        expect = Expect(sender=SENDER, text_contains=(sample.body,), attachment_names=("receipt.png",))
        yield GeneratedMail("boundary_mismatched", label, "declared-differs", build(headers, parts), expect)


def encoded_word_spaces() -> Iterator[GeneratedMail]:
    """``=?GB2312?Q?Re: Re: =BD=F1…?=``: literal spaces inside a Q word."""
    for label, sample in SAMPLES.items():
        subject = f"Re: Re: {sample.subject}"
        for variant, value in (
            ("re-re", q_word(subject, sample, literal_spaces=True)),
            ("leading-space", q_word(f" {sample.subject}", sample, literal_spaces=True)),
            ("two-words", f"{q_word(subject, sample, literal_spaces=True)} {q_word('!', sample)}"),
        ):
            expected = sample.subject if variant == "leading-space" else subject
            expected += "!" if variant == "two-words" else ""
            raw = build(_base_headers(value), b"hello\r\n")
            yield GeneratedMail("encoded_word_spaces", label, variant, raw, Expect(subject=expected))
    for variant, value, expected in (
        ("slashes", "=?us-ascii?Q?ABC / 123 / Wetterau West / ABC?=", "ABC / 123 / Wetterau West / ABC"),
        ("leading-space", "=?UTF-8?Q? Personal=C3=A4nderung?=", "Personaländerung"),
        ("latin1", "=?iso-8859-1?Q?Re: Zahlung f=FCr M=E4rz?=", "Re: Zahlung für März"),
    ):
        raw = build(_base_headers(value), b"hello\r\n")
        yield GeneratedMail("encoded_word_spaces", "ascii-latin", variant, raw, Expect(subject=expected))


def encoded_word_cut() -> Iterator[GeneratedMail]:
    """An encoded word that ends in the first byte of a multibyte character."""
    for label in MULTIBYTE:
        sample = SAMPLES[label]
        data = sample.subject.encode(sample.codec)
        cut = data[:-1]  # the last character loses its last byte
        expected = sample.subject[:-1]
        for variant, word in (
            ("b", f"=?{label}?B?{base64.b64encode(cut).decode('ascii')}?="),
            ("q", f"=?{label}?Q?{q_payload(cut)}?="),
            ("b-then-ascii", f"=?{label}?B?{base64.b64encode(cut).decode('ascii')}?= [ref 42]"),
        ):
            value_expected = f"{expected} [ref 42]" if variant == "b-then-ascii" else expected
            raw = build(_base_headers(word), b"hello\r\n")
            yield GeneratedMail("encoded_word_cut", label, variant, raw, Expect(subject=value_expected))


def raw_8bit_headers() -> Iterator[GeneratedMail]:
    """Subject and From name sent as raw 8-bit bytes, with and without a body charset to hint."""
    for label in RAW_8BIT:
        sample = SAMPLES[label]
        hints = [("body-same-charset", label)]
        if label in RAW_WITHOUT_HINT:
            hints += [("body-latin1", "iso-8859-1"), ("body-undeclared", None)]
        for variant, body_charset in hints:
            headers: list[tuple[str, str | bytes]] = _base_headers(sample.subject.encode(sample.codec))
            headers[0] = ("From", sample.name.encode(sample.codec) + f" <{SENDER}>".encode("ascii"))
            if body_charset == label:
                body = _crlf(sample.body + "\n").encode(sample.codec)
            else:
                body = b"Please see the subject.\r\n"
            if body_charset is not None:
                headers.append(("Content-Type", f"text/plain; charset={body_charset}"))
            expect = Expect(subject=sample.subject, sender=SENDER, sender_name=sample.name)
            yield GeneratedMail("raw_8bit_headers", label, variant, build(headers, body), expect)
    sample = SAMPLES["iso-2022-jp"]  # 7-bit escapes written raw into the header
    headers = _base_headers(sample.subject.encode(sample.codec))
    headers[0] = ("From", sample.name.encode(sample.codec) + f" <{SENDER}>".encode("ascii"))
    expect = Expect(subject=sample.subject, sender=SENDER, sender_name=sample.name)
    yield GeneratedMail("raw_8bit_headers", "iso-2022-jp", "escapes", build(headers, b"hi\r\n"), expect)


def display_name_comma() -> Iterator[GeneratedMail]:
    """An encoded word holding a comma inside a From display name must not split the address."""
    latin = Sample("iso-8859-1", "latin-1", "", "", "Bürling, Andreas")
    samples = [latin, *(SAMPLES[label] for label in ALL_CHARSETS if label != "utf-7")]
    for sample in samples:
        name = sample.name if "," in sample.name else f"{sample.name}, Support"
        for variant, word in (("q", q_word(name, sample)), ("b", b_word(name, sample))):
            headers = _base_headers()
            headers[0] = ("From", f"{word} <smith@example.com>")
            headers[1] = ("To", f"{word} <complaints@wallet.example>")
            expect = Expect(sender="smith@example.com", sender_name=name)
            yield GeneratedMail(
                "display_name_comma", sample.label, variant, build(headers, b"hi\r\n"), expect
            )


def duplicate_from() -> Iterator[GeneratedMail]:
    """Two From headers where the first is garbage: the second one is the sender."""
    for variant, garbage in (
        ("empty", ""),
        ("bare-word", "garbage"),
        ("words", "not an address at all"),
        ("broken-word", "=?utf-8?B?5Lit5paH?="),
        ("empty-angle", "<>"),
    ):
        headers = _base_headers()
        headers[0:1] = [("From", garbage), ("From", f"=?utf-8?B?{_b64('王小明')}?= <{SENDER}>")]
        expect = Expect(sender=SENDER, sender_name="王小明")
        yield GeneratedMail("duplicate_from", "ascii", variant, build(headers, b"hi\r\n"), expect)


def address_spaces() -> Iterator[GeneratedMail]:
    """``<power quadrant system@example.com>``: kept as the quoted local part it must be."""
    for variant, value, expected in (
        ("quoted-name", '"x" <power quadrant system@example.com>', '"power quadrant system"@example.com'),
        ("bare-name", "Power <power quadrant system@example.com>", '"power quadrant system"@example.com'),
        ("two-spaces", '"x" <a  b@example.com>', '"a  b"@example.com'),
    ):
        headers = _base_headers()
        headers[0] = ("From", value)
        yield GeneratedMail(
            "address_spaces", "ascii", variant, build(headers, b"hi\r\n"), Expect(sender=expected)
        )


_PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


def inline_cid_names() -> Iterator[GeneratedMail]:
    """An inline image named only by its Content-ID gets that name."""
    for variant, content_id, expected in (
        ("outlook", "<image001.png@01D9A1B2.C3D4E5F0>", "image001.png@01D9A1B2.C3D4E5F0"),
        ("bare-id", "<part1.06090408.01060107@example.com>", "part1.06090408.01060107@example.com"),
        ("no-angle", "ii_18c2f3a4b5", "ii_18c2f3a4b5"),
    ):
        png = base64.b64encode(_PNG).decode("ascii")
        body = _crlf(
            "--rel\n"
            "Content-Type: text/html; charset=utf-8\n\n"
            f'<p>See the screenshot</p><img src="cid:{content_id.strip("<>")}">\n'
            "--rel\n"
            "Content-Type: image/png\n"
            "Content-Transfer-Encoding: base64\n"
            f"Content-ID: {content_id}\n\n"
            f"{png}\n"
            "--rel--\n"
        ).encode("ascii")
        headers = [*_base_headers(), ("Content-Type", 'multipart/related; boundary="rel"')]
        expect = Expect(text_contains=("See the screenshot",), attachment_names=(expected,))
        yield GeneratedMail("inline_cid_name", "ascii", variant, build(headers, body), expect)


def junk_first_line() -> Iterator[GeneratedMail]:
    """A first line that is no header (a forwarding marker, a blank line) before real headers."""
    for variant, preamble in (
        ("original-email", b"---- Original email message ----\r\n"),
        ("original-message", b"-----Original Message-----\r\n"),
        ("blank-line", b"\r\n"),
        ("two-lines", b"Forwarded by the web form\r\n==========\r\n"),
    ):
        sample = SAMPLES["utf-8"]
        headers = _base_headers(f"=?utf-8?B?{_b64(sample.subject)}?=")
        headers.append(("Content-Type", "text/plain; charset=utf-8"))
        raw = build(headers, _crlf(sample.body + "\n").encode("utf-8"), preamble=preamble)
        expect = Expect(subject=sample.subject, sender=SENDER, text_contains=(sample.body,))
        yield GeneratedMail("junk_first_line", "utf-8", variant, raw, expect)


def charset_aliases() -> Iterator[GeneratedMail]:
    """Labels Python does not know (``iso-gb2312``, ``x-gbk``…) decode in their family."""
    for alias, codec, text in (
        ("iso-gb2312", "gbk", SAMPLES["gbk"]),
        ("x-gbk", "gbk", SAMPLES["gbk"]),
        ("gb_2312-80", "gb2312", SAMPLES["gb2312"]),
        ("x-gb18030", "gb18030", SAMPLES["gb18030"]),
        ("x-big5", "big5", SAMPLES["big5"]),
        ("x-sjis", "shift_jis", SAMPLES["shift_jis"]),
        ("x-euc-kr", "euc_kr", SAMPLES["euc-kr"]),
        ("csiso2022jp", "iso2022_jp", SAMPLES["iso-2022-jp"]),
    ):
        subject = f"=?{alias}?B?{base64.b64encode(text.subject.encode(codec)).decode('ascii')}?="
        headers = [*_base_headers(subject), ("Content-Type", f"text/plain; charset={alias}")]
        raw = build(headers, _crlf(text.body + "\n").encode(codec))
        expect = Expect(subject=text.subject, text_contains=(text.body,))
        yield GeneratedMail("charset_alias", alias, "body-and-subject", raw, expect)


def iso_2022_jp_body() -> Iterator[GeneratedMail]:
    """ISO-2022-JP is 7-bit: unlabelled or labelled ASCII, it must still be decoded."""
    sample = SAMPLES["iso-2022-jp"]
    for variant, content_type in (
        ("declared", "text/plain; charset=iso-2022-jp"),
        ("us-ascii", "text/plain; charset=us-ascii"),
        ("no-charset", "text/plain"),
        ("no-content-type", None),
    ):
        headers = _base_headers(b_word(sample.subject, sample))
        if content_type is not None:
            headers.append(("Content-Type", content_type))
        raw = build(headers, _crlf(sample.body + "\n").encode(sample.codec))
        expect = Expect(subject=sample.subject, text_contains=(sample.body,))
        yield GeneratedMail("iso_2022_jp_body", "iso-2022-jp", variant, raw, expect)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


CLASSES: dict[str, Callable[[], Iterator[GeneratedMail]]] = {
    "boundary_missing": boundary_missing,
    "boundary_mismatched": boundary_mismatched,
    "encoded_word_spaces": encoded_word_spaces,
    "encoded_word_cut": encoded_word_cut,
    "raw_8bit_headers": raw_8bit_headers,
    "display_name_comma": display_name_comma,
    "duplicate_from": duplicate_from,
    "address_spaces": address_spaces,
    "inline_cid_name": inline_cid_names,
    "junk_first_line": junk_first_line,
    "charset_alias": charset_aliases,
    "iso_2022_jp_body": iso_2022_jp_body,
}


def generate() -> list[GeneratedMail]:
    """Every generated mail of every class, in a fixed order."""
    return [generated for make in CLASSES.values() for generated in make()]
