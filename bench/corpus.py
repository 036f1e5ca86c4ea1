"""A deterministic corpus of realistic complaint mails for the benchmark.

The mix follows what a wallet's complaint mailbox receives: about half Chinese
(utf-8, gb2312, gbk and some raw 8-bit bodies without transfer encoding), half
English; plain text, HTML-only and multipart/alternative bodies; about a fifth with
an image or PDF attachment of up to 200 KB; replies with quoted text; and a few
auto-replies (which must be stored but never answered). Every mail has its own
sender, so per-sender rate limits never hide an acknowledgement.

The same seed always gives the same bytes: runs on different days compare.
"""

from __future__ import annotations

import random
import struct
import zlib
from base64 import encodebytes
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.header import Header
from email.utils import format_datetime

DEFAULT_SEED = 20261120
COMPLAINT_ADDRESS = "complaints@wallet.example"
MAX_ATTACHMENT_BYTES = 200 * 1024

_ZH_CHARSETS = ("utf-8", "gb2312", "gbk", "8bit-utf-8")

_ZH_COMPLAINTS = (
    (
        "账户被冻结，无法登录",
        "我的钱包账户今天突然被冻结了，登录时提示“账户异常，请联系客服”。账号是{account}，请尽快帮我解冻。",
    ),
    (
        "转账失败但是扣款了",
        "我在{date} {time}向朋友转账{amount}元，页面显示“交易失败，错误码E1024”，但是余额已经扣除了。交易号{txn}。",
    ),
    ("重复扣费", "同一笔订单被扣了两次，每次{amount}元，交易号{txn}。我只买了一次，请退还多扣的钱。"),
    (
        "对方没有收到转账",
        "我{date}给{recipient}转了{amount}元，显示成功，但对方说一直没有到账。交易号{txn}。",
    ),
    (
        "账户被盗刷",
        "我的账户在{date}凌晨有一笔我不认识的支付{amount}元，我没有操作过，怀疑被盗了，请立即冻结并调查。",
    ),
    (
        "个人信息泄露",
        "我最近接到很多骚扰电话，对方知道我在你们钱包的交易记录，我怀疑个人信息被泄露了，请说明情况。",
    ),
    ("客服态度很差", "我打了三次客服电话都没有人解决问题，上次通话是{date}，客服直接挂断了电话。我要投诉。"),
    ("提现一直没有到账", "我{date}申请提现{amount}元到银行卡，已经过了三天还没有到账，订单号{txn}。"),
)

_EN_COMPLAINTS = (
    (
        "My account is locked",
        "My wallet account {account} was locked this morning and the app says 'account under review'. I cannot pay my bills, please unlock it.",
    ),
    (
        "Payment failed but money was taken",
        "On {date} at {time} I paid {amount} to a merchant and got 'Transaction failed (code E1024)', yet my balance went down. Transaction ID {txn}.",
    ),
    (
        "Charged twice",
        "I was charged {amount} twice for the same purchase, transaction {txn}. I only bought it once. Please refund the duplicate charge.",
    ),
    (
        "Transfer not received",
        "I sent {amount} to {recipient} on {date}. The app says completed but they never received the money. Reference {txn}.",
    ),
    (
        "Unauthorized transaction",
        "There is a payment of {amount} on {date} that I did not make. I think someone got into my account. Please block it and investigate.",
    ),
    (
        "Data privacy concern",
        "I received a marketing call from someone who knew my recent wallet transactions. How did my personal data leak? I want it deleted.",
    ),
    (
        "Terrible customer service",
        "I have contacted support three times since {date} and nobody solved my problem. The last agent closed the chat on me.",
    ),
    (
        "Withdrawal still pending",
        "I withdrew {amount} to my bank account on {date}, it has been pending for four days. Order number {txn}.",
    ),
)

_ZH_NAMES = ("王伟", "李娜", "张敏", "刘洋", "陈静", "杨磊", "赵婷", "黄勇")
_EN_NAMES = ("Alice Walker", "Bob Chen", "Carol Diaz", "David Osei", "Emma Novak", "Frank Ito", "Grace Lee")


@dataclass(frozen=True)
class BenchMail:
    """One generated mail and what the daemon is expected to do with it."""

    raw: bytes
    message_id: str
    sender: str
    language: str  # "zh" | "en"
    expects_ack: bool  # False for auto-replies: stored, never answered


def _details(rng: random.Random, base: datetime) -> dict[str, str]:
    day = base - timedelta(days=rng.randint(0, 5))
    return {
        "account": f"{rng.randint(10**9, 10**10 - 1)}",
        "date": day.strftime("%Y-%m-%d"),
        "time": f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}",
        "amount": f"{rng.randint(5, 5000)}.{rng.randint(0, 99):02d}",
        "txn": f"TXN{rng.randint(10**11, 10**12 - 1)}",
        "recipient": rng.choice(("13800001111", "friend@example.com", "Li Hua", "merchant 88231")),
    }


def _png(rng: random.Random, size: int) -> bytes:
    """A valid PNG whose compressed pixel data is about ``size`` bytes (noise does not compress)."""
    width = 256
    height = max(1, size // (width * 3))
    rows = b"".join(b"\x00" + rng.randbytes(width * 3) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 1))
        + chunk(b"IEND", b"")
    )


def _pdf(rng: random.Random, size: int) -> bytes:
    """A small but well-formed-looking PDF padded with a binary stream."""
    stream = rng.randbytes(max(0, size - 400))
    return (
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\n"
        + f"3 0 obj<</Length {len(stream)}>>stream\n".encode()
        + stream
        + b"\nendstream endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    )


def _encode_header(text: str, charset: str) -> str:
    if text.isascii():
        return text
    return Header(text, charset).encode()


def _html(text: str) -> str:
    paragraphs = "".join(f"<p>{line}</p>" for line in text.split("\n") if line)
    return f"<html><head><meta charset='utf-8'></head><body><div style='font-family:sans-serif'>{paragraphs}</div></body></html>"


def _text_part(body: str, subtype: str, charset: str) -> bytes:
    """One MIME text part; ``8bit-utf-8`` is utf-8 sent raw, as some old clients do."""
    if charset == "8bit-utf-8":
        head = f"Content-Type: text/{subtype}; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
        return head.encode() + b"\r\n" + body.replace("\n", "\r\n").encode("utf-8")
    payload = body.encode(charset, errors="replace")
    if payload.isascii():
        head = f"Content-Type: text/{subtype}; charset={charset}\r\nContent-Transfer-Encoding: 7bit\r\n"
        return head.encode() + b"\r\n" + body.replace("\n", "\r\n").encode("ascii")
    head = f"Content-Type: text/{subtype}; charset={charset}\r\nContent-Transfer-Encoding: base64\r\n"
    return head.encode() + b"\r\n" + encodebytes(payload).replace(b"\n", b"\r\n")


def _attachment_part(rng: random.Random) -> bytes:
    size = rng.randint(8 * 1024, MAX_ATTACHMENT_BYTES)
    if rng.random() < 0.7:
        name, ctype, data = f"screenshot_{rng.randint(1, 999)}.png", "image/png", _png(rng, size)
    else:
        name, ctype, data = f"statement_{rng.randint(1, 999)}.pdf", "application/pdf", _pdf(rng, size)
    head = (
        f'Content-Type: {ctype}; name="{name}"\r\n'
        f'Content-Disposition: attachment; filename="{name}"\r\n'
        "Content-Transfer-Encoding: base64\r\n"
    )
    return head.encode() + b"\r\n" + encodebytes(data).replace(b"\n", b"\r\n")


def _multipart(subtype: str, parts: list[bytes], boundary: str) -> bytes:
    out = [f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n'.encode()]
    for part in parts:
        out.append(f"--{boundary}\r\n".encode() + part + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out)


def _body(rng: random.Random, index: int, text: str, charset: str, with_attachment: bool) -> bytes:
    shape = rng.random()
    if shape < 0.5:
        content = _text_part(text, "plain", charset)
    elif shape < 0.65:
        content = _text_part(_html(text), "html", charset)
    else:
        content = _multipart(
            "alternative",
            [_text_part(text, "plain", charset), _text_part(_html(text), "html", charset)],
            f"alt-{index:06d}",
        )
    if with_attachment:
        content = _multipart("mixed", [content, _attachment_part(rng)], f"mix-{index:06d}")
    return content


def make_mail(index: int, rng: random.Random, base: datetime) -> BenchMail:
    """Mail number ``index``: language, charset, shape and extras drawn from ``rng``."""
    language = "zh" if rng.random() < 0.5 else "en"
    details = _details(rng, base)
    if language == "zh":
        charset = rng.choice(_ZH_CHARSETS)
        subject, template = rng.choice(_ZH_COMPLAINTS)
        name = rng.choice(_ZH_NAMES)
        sender = f"user{index:06d}@customer-mail.cn"
        text = template.format(**details) + f"\n\n谢谢！\n{name}"
    else:
        charset = "utf-8" if rng.random() < 0.3 else "us-ascii"
        subject, template = rng.choice(_EN_COMPLAINTS)
        name = rng.choice(_EN_NAMES)
        sender = f"customer{index:06d}@mail.example.com"
        text = f"Hello,\n\n{template.format(**details)}\n\nThanks,\n{name}"
    auto_reply = rng.random() < 0.03
    is_reply = not auto_reply and rng.random() < 0.15
    with_attachment = rng.random() < 0.2
    message_id = f"<bench.{index:06d}.{rng.randint(0, 10**9)}@{sender.split('@')[1]}>"
    sent_at = base - timedelta(minutes=rng.randint(1, 600))
    headers = [
        f"From: {_encode_header(name, 'utf-8')} <{sender}>",
        f"To: {COMPLAINT_ADDRESS}",
        f"Date: {format_datetime(sent_at)}",
        f"Message-ID: {message_id}",
        "MIME-Version: 1.0",
    ]
    header_charset = "utf-8" if charset in ("8bit-utf-8", "us-ascii") else charset
    if auto_reply:
        subject = "自动回复：" + subject if language == "zh" else "Out of office: " + subject
        text = "我正在休假，将于下周回复。" if language == "zh" else "I am out of the office until Monday."
        headers.append("Auto-Submitted: auto-replied")
    if is_reply:
        earlier = f"<earlier.{index:06d}@{sender.split('@')[1]}>"
        headers += [f"In-Reply-To: {earlier}", f"References: {earlier}"]
        subject = "Re: " + subject
        quote_intro = (
            "\n\n在 2026-11-18，钱包客服 写道：\n"
            if language == "zh"
            else "\n\nOn Wed, Wallet Support wrote:\n"
        )
        quoted = "\n".join(
            "> " + line for line in ("Thank you for contacting us.", "Please send more details.") * 6
        )
        text = text + quote_intro + quoted
    headers.append(f"Subject: {_encode_header(subject, header_charset)}")
    head = "\r\n".join(headers).encode("ascii") + b"\r\n"
    body = _body(rng, index, text, charset, with_attachment)
    return BenchMail(
        raw=head + body,
        message_id=message_id,
        sender=sender,
        language=language,
        expects_ack=not auto_reply,
    )


def generate_corpus(
    count: int, *, seed: int = DEFAULT_SEED, base: datetime = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
) -> list[BenchMail]:
    """``count`` mails; the same (count, seed, base) always gives the same bytes."""
    rng = random.Random(seed)
    return [make_mail(index, rng, base) for index in range(count)]


def describe(corpus: list[BenchMail]) -> dict[str, float]:
    """The mix actually generated, for the report."""
    total = len(corpus) or 1
    raws = [mail.raw for mail in corpus]
    return {
        "mails": len(corpus),
        "zh_share": round(sum(mail.language == "zh" for mail in corpus) / total, 3),
        "attachment_share": round(sum(b"Content-Disposition: attachment" in raw for raw in raws) / total, 3),
        "html_only_share": round(
            sum(b"text/html" in raw and b"text/plain" not in raw for raw in raws) / total, 3
        ),
        "reply_share": round(sum(b"In-Reply-To:" in raw for raw in raws) / total, 3),
        "auto_reply_share": round(sum(not mail.expects_ack for mail in corpus) / total, 3),
        "mean_bytes": round(sum(len(raw) for raw in raws) / total),
        "total_mb": round(sum(len(raw) for raw in raws) / 2**20, 1),
    }
