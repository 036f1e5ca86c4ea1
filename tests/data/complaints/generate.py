"""Write the generated complaint mails: zh_train.csv, zh_heldout.csv, en_train.csv, en_heldout.csv.

    python tests/data/complaints/generate.py        # deterministic (fixed seed)

Training mails come from bank ``A`` (phrases, slot values, templates), held-out mails
from bank ``B``: nothing a held-out mail says was written for training. Chinese
mails come in three variants: Simplified, Traditional (converted character by
character, including characters the categorizer's folding table does not know) and
mixed Chinese/English (complaint words swapped for the English customers use).
"""

from __future__ import annotations

import csv
import random
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import banks_en  # noqa: E402
import banks_zh  # noqa: E402

SEED = 13
CATEGORIES = (
    "account_locked",
    "transaction_failed",
    "wrong_charge",
    "funds_not_received",
    "security",
    "privacy",
    "customer_service",
    "other",
)
COUNTS = {("zh", "train"): 50, ("zh", "heldout"): 25, ("en", "train"): 25, ("en", "heldout"): 12}

SLOTS = {
    "A": {
        "amt": ["¥{n}", "{n}元", "{n}块", "RMB {n}", "${n}", "NT${n}"],
        "date": ["昨天", "今天早上", "上周五", "3月12号", "前天晚上", "yesterday", "on Monday"],
        "merchant": ["美团", "淘宝", "星巴克", "全家", "Amazon", "Tesco"],
        "who": ["朋友", "房东", "我妈", "my brother", "a supplier"],
    },
    "B": {
        "amt": ["{n} 元", "HK${n}", "€{n}", "{n}块钱", "CNY {n}"],
        "date": ["大前天", "周日下午", "5/3", "last night", "on the 2nd"],
        "merchant": ["京东", "滴滴", "7-11", "Uber", "IKEA"],
        "who": ["同事", "客户", "表哥", "my landlord", "a colleague"],
    },
}
EXTRA_TRADITIONAL = dict(zip("暂欢迎丢骗卸载", "暫歡迎丟騙卸載", strict=True))
MIXED = {
    "转账": "transfer",
    "退款": "refund",
    "客服": "CS",
    "验证码": "OTP",
    "余额": "balance",
    "账户": "account",
    "手续费": "fee",
    "提现": "withdraw",
    "付款": "payment",
    "处理中": "pending",
    "账号": "account",
    "密码": "password",
}


def _simplified_to_traditional() -> dict[str, str]:
    from inbox_agent.config.rules import _FOLDING_PAIRS

    table: dict[str, str] = {}
    for pair in _FOLDING_PAIRS.split():
        table.setdefault(pair[1], pair[0])  # the first Traditional form listed wins
    return table | EXTRA_TRADITIONAL


def _fill(text: str, bank: str, language: str, rng: random.Random) -> str:
    # English mail gets the slot values written in Latin letters; Chinese mail any.
    slots = {
        k: [v for v in vs if language == "zh" or v.isascii() or "¥" in v] for k, vs in SLOTS[bank].items()
    }
    values = {
        "amt": rng.choice(slots["amt"]).format(n=rng.choice([35, 88, 199, 520, 1200, 3000, 15800])),
        "date": rng.choice(slots["date"]),
        "merchant": rng.choice(slots["merchant"]),
        "who": rng.choice(slots["who"]),
        "days": str(rng.choice([2, 3, 5, 7, 10])),
        "id": f"T{rng.randrange(10**9, 10**10)}",
    }
    return text.format(**values)


Parts = dict[str, str]


def _zh_templates(bank: str) -> dict[str, Callable[[Parts], tuple[str, str]]]:
    if bank == "A":
        return {
            "formal": lambda p: (
                p["subject"],
                f"{p['greet']}{p['context']}{p['core']}。{p['detail']}。{p['request']}{p['close']}",
            ),
            "colloquial": lambda p: ("", f"{p['mood']}{p['core']}！！{p['detail']}"),
            "oneline": lambda p: (p["subject"], p["core"]),
            "long": lambda p: (
                p["subject"],
                f"{p['greet']}\n\n{p['context']}{p['core']}。{p['detail']}。\n"
                f"时间大概是{p['date']}，金额{p['amt']}，单号 {p['id']}。\n{p['request']}\n{p['close']}",
            ),
        }
    return {
        "story": lambda p: (p["subject"], f"{p['context']}{p['core']}，{p['detail']}。{p['request']}"),
        "question": lambda p: ("", f"{p['greet']}{p['core']}？？这是怎么回事？"),
        "bullets": lambda p: (
            p["subject"],
            f"{p['greet']}\n情况说明：\n1. {p['core']}\n2. {p['detail']}\n3. {p['request']}\n{p['close']}",
        ),
        "subject_line": lambda p: (p["core"], f"{p['detail']}。{p['close']}"),
    }


def _en_templates(bank: str) -> dict[str, Callable[[Parts], tuple[str, str]]]:
    if bank == "A":
        return {
            "formal": lambda p: (
                p["subject"],
                f"{p['greet']}\n\n{p['context']} {p['core'].capitalize()}. {p['detail']} {p['request']}\n\n{p['close']}",
            ),
            "colloquial": lambda p: ("", f"{p['mood']} {p['core']}!! {p['detail']}"),
            "oneline": lambda p: (p["subject"], p["core"]),
            "long": lambda p: (
                p["subject"],
                f"{p['greet']}\n{p['context']} {p['core'].capitalize()}. {p['detail']}\n"
                f"It was {p['date']}, amount {p['amt']}, reference {p['id']}.\n{p['request']}\n{p['close']}",
            ),
        }
    return {
        "story": lambda p: (
            p["subject"],
            f"{p['context']} {p['core'].capitalize()}, {p['detail'].lower()} {p['request']}",
        ),
        "question": lambda p: ("", f"{p['greet']} {p['core']}?? what is going on?"),
        "bullets": lambda p: (
            p["subject"],
            f"{p['greet']}\n- {p['core']}\n- {p['detail']}\n- {p['request']}\n{p['close']}",
        ),
        "subject_line": lambda p: (p["core"], f"{p['detail']} {p['close']}"),
    }


def _variant(text: str, variant: str, rng: random.Random, traditional: dict[str, str]) -> str:
    if variant == "traditional":
        return "".join(traditional.get(ch, ch) for ch in text)
    if variant == "mixed":
        present = [word for word in MIXED if word in text]
        for word in rng.sample(present, min(len(present), rng.randint(1, 3))):
            text = text.replace(word, f" {MIXED[word]} ")
        return text
    return text


def _one(language: str, bank: str, category: str, rng: random.Random) -> dict[str, str]:
    banks = banks_zh if language == "zh" else banks_en
    common = banks.COMMON_A if bank == "A" else banks.COMMON_B
    parts: Parts = {key: rng.choice(values) for key, values in common.items()}
    parts["core"] = rng.choice((banks.CORE_A if bank == "A" else banks.CORE_B)[category])
    parts["detail"] = rng.choice((banks.DETAIL_A if bank == "A" else banks.DETAIL_B)[category]).rstrip("。.")
    parts["subject"] = rng.choice((banks.SUBJECT_A if bank == "A" else banks.SUBJECT_B)[category])
    parts |= {slot: "{" + slot + "}" for slot in ("date", "amt", "id")}
    templates = _zh_templates(bank) if language == "zh" else _en_templates(bank)
    name = rng.choice(sorted(templates))
    subject, text = templates[name](parts)
    subject, text = _fill(subject, bank, language, rng), _fill(text, bank, language, rng)
    variant = "plain"
    if language == "zh":
        variant = rng.choices(("simplified", "traditional", "mixed"), weights=(5, 3, 2))[0]
        traditional = _simplified_to_traditional()
        subject, text = (
            _variant(subject, variant, rng, traditional),
            _variant(text, variant, rng, traditional),
        )
    return {
        "subject": subject,
        "text": text,
        "category": category,
        "language": language,
        "template": name,
        "variant": variant,
    }


def generate(language: str, split: str, seed: int = SEED) -> list[dict[str, str]]:
    rng = random.Random(f"{seed}-{language}-{split}")
    bank = "A" if split == "train" else "B"
    rows: list[dict[str, str]] = []
    for category in CATEGORIES:
        seen: set[tuple[str, str]] = set()
        for _attempt in range(COUNTS[(language, split)] * 50):
            row = _one(language, bank, category, rng)
            key = (row["subject"], row["text"])
            if key not in seen:
                seen.add(key)
                rows.append(row)
            if len(seen) == COUNTS[(language, split)]:
                break
    return rows


def main() -> int:
    for language, split in COUNTS:
        rows = generate(language, split)
        path = HERE / f"{language}_{split}.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(
                handle, fieldnames=["subject", "text", "category", "language", "template", "variant"]
            )
            writer.writeheader()
            writer.writerows(rows)
        print(f"{path.name}: {len(rows)} mails")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
