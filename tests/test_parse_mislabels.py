"""Two labels real mail gets wrong, read as the sender meant them: a Content-Transfer-Encoding
with blanks or a comment around the mechanism, and Big5 text labelled gb2312 or GBK."""

from __future__ import annotations

import base64
import email
import email.policy
import quopri

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from inbox_agent.stages.charsets import decode_bytes
from inbox_agent.stages.mime_parts import tidy_transfer_encoding
from inbox_agent.stages.parse import parse_message
from inbox_agent.stages.parse_defects import Defects

HEAD = "From: Pat <pat@example.com>\r\nTo: complaints@wallet.example\r\nSubject: hi\r\nMIME-Version: 1.0\r\n"
TRADITIONAL = "您好，我的帳戶被凍結了，轉賬三百元一直沒有到賬，請盡快處理，謝謝。"
SIMPLIFIED = "您好，我的账户被冻结了，转账三百元一直没有到账，请尽快处理，谢谢。"


def mail(headers: str, body: bytes) -> bytes:
    return (HEAD + headers.replace("\n", "\r\n") + "\r\n").encode("ascii") + body


# ------------------------------------------------------------- Content-Transfer-Encoding


ENCODED = {
    "base64": base64.encodebytes(SIMPLIFIED.encode("utf-8")),
    "quoted-printable": quopri.encodestring(SIMPLIFIED.encode("utf-8")),
}


@pytest.mark.parametrize(
    "written",
    [
        "base64 ",
        "Base64\t",
        '"base64"',
        "base64 (from the mailer)",
        "quoted-printable   ",
        " QUOTED-PRINTABLE ",
    ],
)
def test_a_transfer_encoding_with_blanks_quotes_or_a_comment_is_still_decoded(written: str) -> None:
    # CPython gh-98188: Python 3.11's email package leaves such a body encoded.
    mechanism = "base64" if "base64" in written.lower() else "quoted-printable"
    raw = mail(
        f"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: {written}\n", ENCODED[mechanism]
    )
    msg = parse_message(raw)
    assert msg.text == SIMPLIFIED
    assert f"read as {mechanism}" in " ".join(msg.defects)


def test_the_same_body_decodes_alike_with_a_clean_or_a_padded_value() -> None:
    body = b"--b\r\nContent-Type: application/pdf; name=a.pdf\r\nContent-Transfer-Encoding: base64 \r\n\r\n"
    body += base64.encodebytes(b"%PDF-1.4 statement") + b"--b--\r\n"
    padded = parse_message(mail('Content-Type: multipart/mixed; boundary="b"\n', body))
    clean = parse_message(
        mail('Content-Type: multipart/mixed; boundary="b"\n', body.replace(b"base64 \r\n", b"base64\r\n"))
    )
    assert (
        [a.payload for a in padded.attachments]
        == [a.payload for a in clean.attachments]
        == [b"%PDF-1.4 statement"]
    )


@pytest.mark.parametrize("written", ["base64", "7bit", "8bit", "x-token", "base-64", "bäse64"])
def test_a_clean_or_unknown_value_is_left_as_it_is(written: str) -> None:
    part = email.message_from_bytes(
        f"Content-Transfer-Encoding: {written}\r\n\r\nbody\r\n".encode(), policy=email.policy.compat32
    )
    defects = Defects()
    tidy_transfer_encoding(part, defects)
    assert part.get("content-transfer-encoding") == email.message_from_bytes(
        f"Content-Transfer-Encoding: {written}\r\n\r\n".encode(), policy=email.policy.compat32
    ).get("content-transfer-encoding")
    assert defects.result() == ()


# ------------------------------------------------------------- Big5 under a GB label


@pytest.mark.parametrize("label", ["gb2312", "GBK", "gb18030", "x-gbk", "cp936"])
def test_big5_text_labelled_gb_is_read_as_big5(label: str) -> None:
    raw = mail(
        f"Content-Type: text/plain; charset={label}\nContent-Transfer-Encoding: base64\n",
        base64.encodebytes(TRADITIONAL.encode("big5")),
    )
    msg = parse_message(raw)
    assert msg.text == TRADITIONAL
    assert msg.language == "zh-Hant"
    assert f"body: charset '{label}' did not fit, decoded as big5hkscs" in msg.defects


def test_a_big5_subject_and_name_in_gb_labelled_encoded_words_are_read_as_big5() -> None:
    subject = "=?gb2312?B?" + base64.b64encode("帳戶被凍結".encode("big5")).decode() + "?="
    name = "=?gbk?B?" + base64.b64encode("陳大文".encode("big5")).decode() + "?="
    raw = (
        f"From: {name} <chan@example.hk>\r\nTo: complaints@wallet.example\r\nSubject: {subject}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nsee subject\r\n"
    ).encode()
    msg = parse_message(raw)
    assert (msg.subject, msg.sender_name) == ("帳戶被凍結", "陳大文")


def test_gb_text_stays_gb_even_with_a_user_defined_character() -> None:
    # GBK's user-defined area (AAA1-AFFE) holds custom glyphs for rare names: private-use
    # characters in a real GB mail, which must not make the label look like a lie.
    data = "我是王".encode("gbk") + b"\xaa\xa1" + SIMPLIFIED.encode("gbk")
    text, codec = decode_bytes(data, "gb2312")
    assert codec == "gb18030"
    assert text.startswith("我是王\ue000") and text.endswith(SIMPLIFIED)


# GB2312 characters, frequent (lead bytes B0-D7) and rare (D8-F7), as bytes; and GBK's
# user-defined area AAA1-AFFE (private-use characters: custom glyphs for rare names).
GB_CHAR = (
    st.tuples(st.integers(0xB0, 0xF7), st.integers(0xA1, 0xFE))
    .map(bytes)
    .filter(lambda pair: pair.decode("gb2312", errors="replace") != "\ufffd")
)
USER_DEFINED = st.tuples(st.integers(0xAA, 0xAF), st.integers(0xA1, 0xFE)).map(bytes)


@given(st.lists(GB_CHAR, min_size=1, max_size=40), st.lists(USER_DEFINED, max_size=3), st.randoms())
def test_gb_text_under_a_gb_label_is_read_as_gb(chars: list[bytes], custom: list[bytes], rnd) -> None:
    """Any text of GB2312 characters, frequent or rare, stays GB; so does one with custom
    glyphs for names (up to one character in three)."""
    pieces = chars + custom[: (len(chars) + len(custom)) // 3]
    rnd.shuffle(pieces)
    data = b"".join(pieces)
    assert decode_bytes(data, "gb2312") == (data.decode("gb18030"), "gb18030")


@given(st.text(alphabet=st.sampled_from(TRADITIONAL + "帳號轉賬凍結處理謝謝戶口"), min_size=1, max_size=60))
def test_big5_text_under_a_big5_label_is_read_as_written(text: str) -> None:
    assert decode_bytes(text.encode("big5"), "big5") == (text, "big5hkscs")


# ------------------------------------------------------------- HZ (RFC 1843), 7-bit


@pytest.mark.parametrize(
    "content_type",
    ["", "Content-Type: text/plain; charset=us-ascii\n", "Content-Type: text/plain; charset=utf-8\n"],
)
def test_seven_bit_hz_text_unlabelled_or_labelled_ascii_is_read_as_chinese(content_type: str) -> None:
    msg = parse_message(mail(content_type, SIMPLIFIED.encode("hz")))
    assert msg.text == SIMPLIFIED
    assert any("decoded as hz" in defect for defect in msg.defects)


def test_a_hz_labelled_body_needs_no_repair() -> None:
    msg = parse_message(mail("Content-Type: text/plain; charset=HZ-GB-2312\n", SIMPLIFIED.encode("hz")))
    assert msg.text == SIMPLIFIED
    assert not any("hz" in defect for defect in msg.defects)


@pytest.mark.parametrize(
    "text",
    [
        "Use ~{ and ~} to switch, see RFC 1843.",  # the shift sequences, talked about
        "C code: if (x) ~{ y; ~} and ~~tilde",
        "~{aa~}",  # decodes, to one rare character: not plausible Chinese
    ],
)
def test_ascii_text_that_only_looks_like_hz_is_kept(text: str) -> None:
    assert decode_bytes(text.encode(), "us-ascii") == (text, "ascii")
    assert decode_bytes(text.encode(), None) == (text, "ascii")


FREQUENT_GB = st.tuples(st.integers(0xB0, 0xD7), st.integers(0xA1, 0xFE)).map(bytes)


@given(
    st.lists(
        st.one_of(
            FREQUENT_GB.map(lambda pair: pair.decode("gb2312", errors="replace")),
            st.sampled_from(["300", " ", "TX2026", "，", "。"]),
        ),
        min_size=2,
        max_size=40,
    )
)
def test_common_chinese_text_in_hz_is_read_back_whatever_the_label(pieces: list[str]) -> None:
    text = "".join(piece for piece in pieces if piece != "\ufffd")
    assume(sum(ord(char) > 0x7F and char not in "，。" for char in text) >= 2)
    for label in (None, "us-ascii", "utf-8", "hz-gb-2312"):
        assert decode_bytes(text.encode("hz"), label)[0] == text


# ------------------------------------------------------------- UTF-8 under a Latin-1 label

FRENCH = "Bonjour, mon compte est bloqué depuis hier ; le virement a échoué. Merci — c'est urgent."
WESTERN_WORDS = [
    "café",
    "naïve",
    "über",
    "Straße",
    "año",
    "façade",
    "crème",
    "brûlée",
    "Zürich",
    "São",
    "déjà",
    "œuvre",
    "résumé",
    "€30",
    "£5",
    "¿qué?",
    "¡sí!",
    "«oui»",
    "50°",
    "±2",
    "½",
    "©",
    "µ",
]


@pytest.mark.parametrize("label", ["iso-8859-1", "windows-1252", "latin1", "us-ascii"])
def test_utf8_text_under_a_latin1_or_ascii_label_is_read_as_utf8(label: str) -> None:
    msg = parse_message(mail(f"Content-Type: text/plain; charset={label}\n", FRENCH.encode("utf-8")))
    assert msg.text == FRENCH
    assert f"body: charset '{label}' did not fit, decoded as utf-8" in msg.defects


@pytest.mark.parametrize("word", ["一直", "什么", "之前"])
def test_short_gbk_that_is_also_valid_utf8_stays_chinese_under_a_latin1_label(word: str) -> None:
    data = word.encode("gbk")
    assert data.decode("utf-8")  # "一直" in GBK is also the UTF-8 of "һֱ"
    assert decode_bytes(data, "iso-8859-1")[0] == word


def test_short_utf8_accented_words_under_a_latin1_label_are_read_as_utf8() -> None:
    for word in ("Hélène", "Zürich", "Ærø", "São Paulo"):  # not "déçu": é and ç touch, as GBK bytes do
        assert decode_bytes(word.encode("utf-8"), "iso-8859-1") == (word, "utf-8")


@given(
    st.lists(st.sampled_from(WESTERN_WORDS + ["the", "payment", "failed", "Paulo"]), min_size=1, max_size=12)
)
def test_western_text_under_its_own_label_is_read_as_written(words: list[str]) -> None:
    text = " ".join(words)
    assert decode_bytes(text.encode("cp1252"), "iso-8859-1")[0] == text
    assert decode_bytes(text.encode("cp1252"), "windows-1252")[0] == text


def test_html_entities_keep_their_accents_and_characters() -> None:
    html = b"<p>Mon compte est bloqu&eacute; &mdash; &#25105;&#30340;&#36134;&#25143; &euro;30&nbsp;!</p>"
    msg = parse_message(mail("Content-Type: text/html; charset=us-ascii\n", html))
    assert "bloqué — 我的账户 €30" in msg.text


# ------------------------------------------------------------- short Western words


@pytest.mark.parametrize(
    "word", ["Hélène", "brûlée", "été", "réglé", "Zoë", "Ñoño", "Bär", "Öl", "Größe", "œuvre", "sœur"]
)
def test_short_accented_words_stay_western(word: str) -> None:
    data = word.encode("cp1252")
    assert decode_bytes(data, "iso-8859-1") == (word, "cp1252")
    if "œ" not in word:  # unlabelled, "œu" is also the GBK character 渦: Chinese goes first here
        assert decode_bytes(data, None) == (word, "cp1252")


def test_a_latin1_name_in_an_encoded_word_is_not_read_as_chinese() -> None:
    raw = (
        b"From: =?iso-8859-1?Q?H=E9l=E8ne_Dupr=E9?= <helene@example.fr>\r\nTo: complaints@wallet.example\r\n"
        b"Subject: =?iso-8859-1?Q?R=E9gl=E9?=\r\n\r\nMon paiement.\r\n"
    )
    msg = parse_message(raw)
    assert (msg.sender_name, msg.subject) == ("Hélène Dupré", "Réglé")


@pytest.mark.parametrize("name", ["王镕堃", "王喆", "张三", "李", "陳大文"])
def test_chinese_names_under_a_latin1_label_are_still_read_as_chinese(name: str) -> None:
    assert decode_bytes(name.encode("gbk"), "iso-8859-1")[0] == name
    assert decode_bytes(name.encode("gbk"), None)[0] == name
