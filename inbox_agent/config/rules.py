"""Categorization and evidence rules: defaults shipped as TOML, overridable from the config.

Everything ops may want to tune (terms and their weights, negative phrases, the
evidence each category needs, what makes a case urgent or high) lives in
``default_rules.toml`` next to this module; the user's ``[categories.*]``,
``[evidence]`` and ``[severity]`` sections are merged over it by :func:`load_rules`.

Terms and mail text are compared in one *canonical form* (:func:`canonical`): NFKC
(full-width to half-width), case-folded, Traditional Chinese folded to Simplified for
the characters complaint words use, English words lightly stemmed, and every token
(a stemmed word, a number, or a single CJK character) separated by one space. A
term matches when its canonical form occurs in the text's canonical form on token
boundaries, which gives English word boundaries and Chinese substring matching with
one rule.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

from inbox_agent.domain.model import CATEGORIES, EVIDENCE_IDS

DEFAULT_RULES_FILE = "default_rules.toml"

# A plain list of terms in the user's config gives each term this weight: the weight
# of a typical curated term in default_rules.toml.
LIST_TERM_WEIGHT = 4.0

# Traditional -> Simplified for the characters that occur in complaint vocabulary.
# A full converter (OpenCC) would be a large dependency for a few dozen characters;
# the terms in default_rules.toml are written in Simplified and this table makes
# their Traditional spellings match too.
_FOLDING_PAIRS = (
    "並并 來来 係系 個个 們们 備备 傳传 價价 億亿 償偿 儲储 兩两 凍冻 劉刘 務务 匯汇 員员 問问 啟启 單单 "
    "嗎吗 圖图 報报 實实 審审 將将 專专 對对 帐账 帳账 帶带 幣币 幾几 張张 後后 從从 復复 態态 憂忧 應应 "
    "戶户 換换 損损 撥拨 擊击 擋挡 擔担 據据 擬拟 擾扰 攔拦 敗败 時时 會会 條条 樣样 機机 權权 歸归 決决 "
    "沒没 洩泄 準准 滿满 灣湾 為为 無无 現现 產产 異异 當当 發发 盜盗 確确 碼码 稱称 筆笔 簡简 紀纪 細细 "
    "紹绍 終终 結结 絡络 給给 統统 經经 網网 緊紧 線线 總总 繫系 聯联 聽听 臺台 與与 興兴 萬万 處处 號号 "
    "補补 裝装 覆复 見见 覺觉 訂订 訊讯 記记 設设 許许 詐诈 詢询 話话 該该 詳详 認认 誤误 說说 請请 謝谢 "
    "證证 讓让 買买 費费 資资 賠赔 賣卖 賬账 購购 轉转 辦办 這这 週周 進进 過过 達达 遞递 還还 邊边 郵邮 "
    "銷销 錄录 錢钱 錯错 鎖锁 鐘钟 門门 閉闭 開开 間间 關关 陳陈 際际 隨随 險险 隱隐 難难 電电 頁页 項项 "
    "題题 額额 顯显 風风 餘余 騙骗 騷骚 驗验 麼么 點点 齊齐 編编 刪删 媽妈 爾尔 夥伙 護护 "
)
TRADITIONAL_TO_SIMPLIFIED = str.maketrans({pair[0]: pair[1] for pair in _FOLDING_PAIRS.split()})

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[a-z0-9]+(?:'[a-z]+)?")
_CONTRACTIONS = {"can't": "can not", "cannot": "can not", "won't": "will not", "shan't": "shall not"}


def stem(word: str) -> str:
    """A light English stemmer: charged/charges/charging/charge -> charg.

    Deliberately crude and predictable (ops write terms in plain English and the same
    function is applied to both sides), not a linguistic stemmer.
    """
    if not word.isalpha() or len(word) <= 3:
        return word
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif len(word) > 5 and word.endswith("ing"):
        word = word[:-3]
    elif len(word) > 4 and word.endswith(("ed", "es")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith("ss") and not word.endswith("us"):
        word = word[:-1]
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    if len(word) > 4 and word[-1] == word[-2] and word[-1] not in "lsz":
        word = word[:-1]
    return word


def fold(text: str) -> str:
    """NFKC (full-width to half-width), case-fold, Traditional to Simplified."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return text.replace("\u2019", "'").translate(TRADITIONAL_TO_SIMPLIFIED)


def tokens(text: str) -> list[str]:
    """The canonical tokens of ``text``: stemmed words, numbers, single CJK characters."""
    result: list[str] = []
    for raw in _TOKEN.findall(fold(text)):
        if raw in _CONTRACTIONS:
            result.extend(_CONTRACTIONS[raw].split())
        elif raw.endswith("n't"):
            result.extend((raw[:-3], "not"))
        elif raw.endswith("'s"):
            result.append(stem(raw[:-2]))
        else:
            result.append(stem(raw.replace("'", "")))
    return result


def canonical(text: str) -> str:
    """Tokens joined by single spaces, padded: ``" charg twice "``.

    The padding makes ``f" {term} " in text`` a match on token boundaries.
    """
    return " " + " ".join(tokens(text)) + " "


@dataclass(frozen=True)
class Term:
    text: str  # as written in the configuration: what "matched" reports
    weight: float
    pattern: str  # canonical form, without padding

    @classmethod
    def of(cls, text: str, weight: float) -> Term:
        return cls(text=text, weight=float(weight), pattern=canonical(text).strip())


@dataclass(frozen=True)
class CategoryRule:
    id: str
    terms: tuple[Term, ...]
    negative: tuple[str, ...] = ()  # phrases that cancel this category's terms they contain
    bias: float = 0.0  # added to the category's score when the mail is not "other" by default
    negative_patterns: tuple[str, ...] = field(default=(), compare=False)  # canonical forms

    def __post_init__(self) -> None:
        # Computed once here: categorize() uses them for every mail.
        patterns = tuple(canonical(phrase).strip() for phrase in self.negative)
        object.__setattr__(self, "negative_patterns", patterns)


@dataclass(frozen=True)
class SeverityRules:
    urgent_categories: tuple[str, ...]
    # currency code -> amount at or above which a case is "high"
    high_amount: Mapping[str, float]


@dataclass(frozen=True)
class ScoringRules:
    subject_weight: float = 1.5  # a term in the subject counts this many times its weight
    secondary_fraction: float = 0.5  # secondary categories score at least this share of the top
    min_score: float = 1.0  # below this (terms only, no bias), the mail is "other"
    # A matched term this heavy (a curated, unmistakable complaint word such as
    # "suspended" or "盗刷") keeps a mail out of "other": long real mail is full of
    # generic words ("wallet", "account", "send") that BANKING77 taught "other".
    decisive_weight: float = 6.0


@dataclass(frozen=True)
class Rules:
    categories: Mapping[str, CategoryRule]
    # category -> required items in order; each item is a group of alternatives
    required_evidence: Mapping[str, tuple[tuple[str, ...], ...]]
    severity: SeverityRules
    scoring: ScoringRules = ScoringRules()


@cache
def default_rules() -> Rules:
    """The shipped rules; a broken default file is a bug, so it raises."""
    errors: list[str] = []
    rules = load_rules(None, None, None, errors)
    if errors:
        raise ValueError(f"{DEFAULT_RULES_FILE} is invalid: " + "; ".join(errors))
    return rules


@cache
def _default_data() -> dict[str, Any]:
    text = resources.files("inbox_agent.config").joinpath(DEFAULT_RULES_FILE).read_text(encoding="utf-8")
    return tomllib.loads(text)


def load_rules(
    categories: Mapping[str, Any] | None,
    evidence: Mapping[str, Any] | None,
    severity: Mapping[str, Any] | None,
    errors: list[str],
) -> Rules:
    """Merge the user's sections over the defaults; one message per problem in ``errors``.

    Never raises for bad user input: a faulty entry is reported and the default kept,
    so the caller can list every problem at once.
    """
    data = _default_data()
    category_rules = _categories(data["categories"], data.get("learned", {}), categories, errors)
    required = _evidence(data["evidence"], evidence, errors)
    severity_rules = _severity(data["severity"], severity, errors)
    scoring = ScoringRules(**data.get("scoring", {}))
    return Rules(
        categories=MappingProxyType(category_rules),
        required_evidence=MappingProxyType(required),
        severity=severity_rules,
        scoring=scoring,
    )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _table(value: object, path: str, errors: list[str]) -> Mapping[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        errors.append(f"{path}: must be a table")
        return None
    return value


def _term_table(value: object, path: str, errors: list[str]) -> dict[str, float]:
    """A ``{term = weight}`` table, or a list of terms (each ``LIST_TERM_WEIGHT``)."""
    if isinstance(value, list):
        value = {}.fromkeys(value, LIST_TERM_WEIGHT) if all(isinstance(v, str) for v in value) else value
    if not isinstance(value, Mapping):
        errors.append(f"{path}: must be a table of term = weight, or a list of terms")
        return {}
    terms: dict[str, float] = {}
    for text, weight in value.items():
        if not _is_number(weight) or weight <= 0:
            errors.append(f"{path}.{text}: weight must be a number > 0")
        elif not canonical(text).strip():
            errors.append(f"{path}.{text}: term has no letters, digits or CJK characters")
        else:
            terms[text] = float(weight)
    return terms


def _phrase_list(value: object, path: str, errors: list[str]) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.append(f"{path}: must be a list of strings")
        return []
    return list(value)


def _unique_terms(terms: Mapping[str, float]) -> tuple[Term, ...]:
    """One term per canonical form; the later entry wins ("charges" after "charge")."""
    by_pattern: dict[str, Term] = {}
    for text, weight in terms.items():
        term = Term.of(text, weight)
        by_pattern.pop(term.pattern, None)
        by_pattern[term.pattern] = term
    return tuple(by_pattern.values())


_CATEGORY_KEYS = ("terms", "extra_terms", "negative", "extra_negative", "bias")


def _categories(
    defaults: Mapping[str, Any],
    learned: Mapping[str, Any],
    user: Mapping[str, Any] | None,
    errors: list[str],
) -> dict[str, CategoryRule]:
    user = _table(user, "categories", errors) or {}
    for category in user:
        if category not in CATEGORIES:
            errors.append(f"categories.{category}: unknown category (known: {', '.join(CATEGORIES)})")
    rules: dict[str, CategoryRule] = {}
    for category in CATEGORIES:
        default = defaults.get(category, {})
        taught = learned.get(category, {})
        # A curated term keeps its hand-set weight when training learned it too.
        terms = dict(taught.get("terms", {})) | dict(default.get("terms", {}))
        negative = list(default.get("negative", []))
        bias = float(default.get("bias", taught.get("bias", 0.0)))
        path = f"categories.{category}"
        section = _table(user.get(category), path, errors) or {}
        for key in section:
            if key not in _CATEGORY_KEYS:
                errors.append(f"{path}.{key}: unknown key (known: {', '.join(_CATEGORY_KEYS)})")
        # "terms" replaces every default term of the category (learned ones included);
        # "extra_terms" adds terms or changes the weight of existing ones.
        if "terms" in section:
            terms = _term_table(section["terms"], f"{path}.terms", errors)
        if "extra_terms" in section:
            terms |= _term_table(section["extra_terms"], f"{path}.extra_terms", errors)
        if "negative" in section:
            negative = _phrase_list(section["negative"], f"{path}.negative", errors)
        if "extra_negative" in section:
            negative += _phrase_list(section["extra_negative"], f"{path}.extra_negative", errors)
        if "bias" in section:
            if _is_number(section["bias"]):
                bias = float(section["bias"])
            else:
                errors.append(f"{path}.bias: must be a number")
        rules[category] = CategoryRule(
            id=category,
            terms=_unique_terms(terms),
            negative=tuple(dict.fromkeys(negative)),
            bias=bias,
        )
    return rules


def _evidence_items(value: object, path: str, errors: list[str]) -> tuple[tuple[str, ...], ...] | None:
    if not isinstance(value, list):
        errors.append(f"{path}: must be a list of evidence ids (alternatives joined by |)")
        return None
    items: list[tuple[str, ...]] = []
    ok = True
    for index, item in enumerate(value):
        if not isinstance(item, str):
            errors.append(f"{path}[{index}]: must be a string")
            ok = False
            continue
        group = tuple(part.strip() for part in item.split("|"))
        for part in group:
            if part not in EVIDENCE_IDS:
                errors.append(
                    f'{path}[{index}]: unknown evidence id "{part}" (known: {", ".join(EVIDENCE_IDS)})'
                )
                ok = False
        items.append(group)
    return tuple(items) if ok else None


def _evidence(
    defaults: Mapping[str, Any], user: Mapping[str, Any] | None, errors: list[str]
) -> dict[str, tuple[tuple[str, ...], ...]]:
    required: dict[str, tuple[tuple[str, ...], ...]] = {}
    for category in CATEGORIES:
        items = defaults["required"].get(category, [])
        required[category] = _evidence_items(items, f"evidence.required.{category}", errors) or ()
    user = _table(user, "evidence", errors) or {}
    for key in user:
        if key != "required":
            errors.append(f"evidence.{key}: unknown key (known: required)")
    user_required = _table(user.get("required"), "evidence.required", errors) or {}
    for category, items in user_required.items():
        path = f"evidence.required.{category}"
        if category not in CATEGORIES:
            errors.append(f"{path}: unknown category (known: {', '.join(CATEGORIES)})")
            continue
        # A category's list replaces the default list: the order is the order asked in.
        parsed = _evidence_items(items, path, errors)
        if parsed is not None:
            required[category] = parsed
    return required


_SEVERITY_KEYS = ("urgent_categories", "high_amount")


def _severity(
    defaults: Mapping[str, Any], user: Mapping[str, Any] | None, errors: list[str]
) -> SeverityRules:
    urgent = list(defaults["urgent_categories"])
    thresholds = {code.upper(): float(amount) for code, amount in defaults["high_amount"].items()}
    user = _table(user, "severity", errors) or {}
    for key in user:
        if key not in _SEVERITY_KEYS:
            errors.append(f"severity.{key}: unknown key (known: {', '.join(_SEVERITY_KEYS)})")
    if "urgent_categories" in user:
        listed = _phrase_list(user["urgent_categories"], "severity.urgent_categories", errors)
        unknown = [c for c in listed if c not in CATEGORIES]
        for category in unknown:
            errors.append(
                f"severity.urgent_categories: unknown category {category!r} (known: {', '.join(CATEGORIES)})"
            )
        if not unknown:
            urgent = listed
    # Per-currency thresholds are merged: the user sets only the currencies they care about.
    for code, amount in (_table(user.get("high_amount"), "severity.high_amount", errors) or {}).items():
        if not re.fullmatch(r"[A-Za-z]{3}", code):
            errors.append(f"severity.high_amount.{code}: not a three-letter currency code")
        elif not _is_number(amount) or amount <= 0:
            errors.append(f"severity.high_amount.{code}: must be a number > 0")
        else:
            thresholds[code.upper()] = float(amount)
    return SeverityRules(urgent_categories=tuple(urgent), high_amount=MappingProxyType(thresholds))
