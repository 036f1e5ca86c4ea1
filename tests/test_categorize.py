"""Categorization and its configurable rules, as ops and customers would see them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inbox_agent.adapters.training_corpus import labelled_mails, load_corpus
from inbox_agent.config.rules import Rules, canonical, default_rules, load_rules
from inbox_agent.domain.model import CATEGORIES, EVIDENCE_IDS
from inbox_agent.stages.categorize import Scores, categorize, score_terms

DATA = Path(__file__).resolve().parent / "data"


def rules_with(categories=None, evidence=None, severity=None):
    errors: list[str] = []
    rules = load_rules(categories, evidence, severity, errors)
    assert errors == []
    return rules


def terms_only(rules):
    """The curated terms alone, without the learned model: how the rules themselves match."""
    return replace(rules, model_ref=None)


# --------------------------------------------------------------------------- categories


@pytest.mark.parametrize(
    ("subject", "text", "expected"),
    [
        ("账户被冻结", "您好，我的账户今天早上被冻结了，无法登录，请尽快处理。", "account_locked"),
        ("帳戶被鎖", "你好，我的帳戶被鎖住了，一直無法登入，請幫忙解鎖。", "account_locked"),
        ("Account locked", "Hi, my account is locked and I can't log in since yesterday.", "account_locked"),
        ("付款失败", "昨天付款失败了，页面提示系统繁忙。", "transaction_failed"),
        ("轉帳失敗", "我轉帳給朋友，一直顯示交易失敗。", "transaction_failed"),
        ("Payment declined", "My card payment was declined at the shop with an error.", "transaction_failed"),
        ("重复扣款", "买了一杯咖啡，被扣了两次钱，请退款。", "wrong_charge"),
        ("多收手續費", "你們多收了我手續費，請退還。", "wrong_charge"),
        ("Charged twice", "I was charged twice for the same order.", "wrong_charge"),
        ("提现没到账", "三天前提现的钱到现在还没到账，一直显示处理中。", "funds_not_received"),
        ("匯款沒收到", "我轉帳給房東，對方說一直沒有收到。", "funds_not_received"),
        (
            "Transfer not received",
            "I sent money to my friend but she hasn't received it, still pending.",
            "funds_not_received",
        ),
        ("账户被盗刷", "我的钱包被盗刷了三笔，不是我本人操作的。", "security"),
        ("帳號被盜用", "有陌生設備登入我的帳號，還被盜刷了一筆。", "security"),
        (
            "Unauthorized payment",
            "There is a payment I did not authorize, I think my account was hacked.",
            "security",
        ),
        ("个人信息泄露", "我的个人信息被泄露了，每天都有骚扰电话。", "privacy"),
        ("個資外洩", "我的個人資料被第三方拿到了，這是侵犯隱私。", "privacy"),
        ("Privacy", "You shared my personal data with a marketing company without my consent.", "privacy"),
        ("客服不回复", "客服一直不回复，打电话也打不通，态度很差。", "customer_service"),
        ("客服態度很差", "打客服電話，客服態度很差，還掛我電話。", "customer_service"),
        (
            "No response",
            "Nobody from customer service has replied in two weeks, I was on hold for an hour.",
            "customer_service",
        ),
        ("开发票", "请问会员服务可以开发票吗？", "other"),
        ("Suggestion", "A suggestion: please add a dark mode to the app.", "other"),
    ],
)
def test_complaints_are_filed_under_their_category(subject: str, text: str, expected: str) -> None:
    assert categorize(subject, text, default_rules()).category == expected


def test_mixed_chinese_and_english_mail() -> None:
    result = categorize(
        "transfer 没到账", "我昨天 transfer 了 RMB 3,000 给朋友，status 一直是 pending。", default_rules()
    )
    assert result.category == "funds_not_received"
    assert ("funds_not_received", "没到账") in result.matched
    assert ("funds_not_received", "pending") in result.matched


def test_full_width_text_matches_half_width_terms() -> None:
    result = categorize("", "ＭＹ ＡＣＣＯＵＮＴ ＩＳ ＬＯＣＫＥＤ", default_rules())
    assert result.category == "account_locked"
    assert ("account_locked", "locked") in result.matched


def test_english_terms_match_other_word_forms() -> None:
    # "charge" is the term; the mail only uses other forms of the word.
    assert canonical("charged") == canonical("charges") == canonical("charging") == canonical("charge")
    result = categorize("", "They keep charging me; the charges are wrong.", default_rules())
    assert ("wrong_charge", "charge") in result.matched


def test_terms_match_whole_words_only() -> None:
    only_locked = rules_with(
        {c: {"terms": {}} for c in CATEGORIES} | {"account_locked": {"terms": {"lock": 5}}}
    )
    assert categorize("", "My padlock emoji is cute", terms_only(only_locked)).category == "other"
    assert categorize("", "They lock my wallet", terms_only(only_locked)).category == "account_locked"


def test_negative_phrase_cancels_the_term_inside_it() -> None:
    result = categorize(
        "", "My account was not hacked, but the payment failed with an error.", default_rules()
    )
    assert result.category == "transaction_failed"
    assert ("security", "hacked") not in result.matched
    assert "security" not in result.categories


def test_subject_counts_more_than_body() -> None:
    only = {c: {"terms": {}} for c in CATEGORIES}
    rules = terms_only(
        rules_with(
            only | {"wrong_charge": {"terms": {"overcharged": 4}}, "security": {"terms": {"stolen": 4}}}
        )
    )
    assert categorize("overcharged", "stolen", rules).category == "wrong_charge"
    assert categorize("stolen", "overcharged", rules).category == "security"


def test_nothing_matched_by_the_terms_alone_is_other_with_zero_confidence() -> None:
    result = categorize("Hello", "Lorem ipsum dolor sit amet.", terms_only(default_rules()))
    assert (result.category, result.categories, result.confidence, result.matched) == (
        "other",
        ("other",),
        0.0,
        (),
    )
    assert result.severity == "normal"


def test_result_explains_itself_and_lists_secondary_categories() -> None:
    text = "我的账户被盗刷了两笔，之后账户就被冻结了，无法登录。"
    result = categorize("", text, default_rules())
    assert result.category == "security"
    assert "account_locked" in result.categories[1:]
    assert ("security", "盗刷") in result.matched
    assert ("account_locked", "冻结") in result.matched
    assert 0.5 < result.confidence <= 1.0


# --------------------------------------------------------------------------- severity


def test_security_is_urgent() -> None:
    assert categorize("", "Someone hacked my account.", default_rules()).severity == "urgent"


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        ("I was charged twice, ¥20,000 each time.", "high"),
        ("I was charged twice, ¥200 each time.", "normal"),
        ("I was charged twice, $1,600.00 each time.", "high"),
        ("重复扣款，每次15000元。", "high"),
    ],
)
def test_large_amounts_are_high(text: str, severity: str) -> None:
    assert categorize("", text, default_rules()).severity == severity


def test_severity_thresholds_and_urgent_categories_are_configurable() -> None:
    rules = rules_with(severity={"high_amount": {"CNY": 100}, "urgent_categories": ["wrong_charge"]})
    assert categorize("", "Charged twice, ¥200.", rules).severity == "urgent"
    rules = rules_with(severity={"high_amount": {"cny": 100}})
    assert categorize("", "Charged twice, ¥200.", rules).severity == "high"
    assert rules.severity.high_amount["USD"] == default_rules().severity.high_amount["USD"]


# --------------------------------------------------------------------------- rules loading


def test_default_rules_cover_every_category_and_are_cached() -> None:
    rules = default_rules()
    assert rules is default_rules()
    assert set(rules.categories) == set(CATEGORIES)
    assert set(rules.required_evidence) == set(CATEGORIES)
    for groups in rules.required_evidence.values():
        assert all(item in EVIDENCE_IDS for group in groups for item in group)
    assert rules.required_evidence["transaction_failed"] == (
        ("transaction_date",),
        ("amount",),
        ("error_message",),
        ("transaction_id", "screenshot"),
    )
    assert rules.severity.urgent_categories == ("security",)


def test_default_terms_are_unique_per_category() -> None:
    for rule in default_rules().categories.values():
        patterns = [term.pattern for term in rule.terms]
        assert len(patterns) == len(set(patterns)), rule.id


def test_user_terms_replace_and_extra_terms_extend() -> None:
    replaced = rules_with({"security": {"terms": {"sim swap": 6}}})
    assert [t.text for t in replaced.categories["security"].terms] == ["sim swap"]
    extended = rules_with({"security": {"extra_terms": {"sim swap": 6, "hacked": 1}}})
    terms = {t.text: t.weight for t in extended.categories["security"].terms}
    assert terms["sim swap"] == 6 and terms["hacked"] == 1 and "盗刷" in terms
    mail = "After a SIM swap my wallet was emptied"
    assert categorize("", mail, terms_only(extended)).category == "security"
    # With the model, a term of decisive weight decides when ops say so ("override");
    # as a prior it only adds its weight (measured in bench/train_model.py).
    override = replace(extended, categorizer=replace(extended.categorizer, rules="override"))
    assert categorize("", mail, override).category == "security"


def test_a_plain_list_of_terms_is_accepted() -> None:
    rules = rules_with({"privacy": {"extra_terms": ["doxxed"]}})
    assert {t.text: t.weight for t in rules.categories["privacy"].terms}["doxxed"] == 4.0
    assert categorize("", "I got doxxed because of you", terms_only(rules)).category == "privacy"


def test_negative_phrases_and_bias_can_be_overridden() -> None:
    rules = rules_with({"security": {"extra_negative": ["not stolen"], "bias": -1.5}})
    assert "not stolen" in rules.categories["security"].negative
    assert "not hacked" in rules.categories["security"].negative
    assert rules.categories["security"].bias == -1.5
    assert rules_with({"security": {"negative": []}}).categories["security"].negative == ()


def test_required_evidence_is_configurable() -> None:
    rules = rules_with(evidence={"required": {"privacy": ["account_id", "screenshot|error_message"]}})
    assert rules.required_evidence["privacy"] == (("account_id",), ("screenshot", "error_message"))
    assert rules.required_evidence["security"] == default_rules().required_evidence["security"]


def test_bad_user_rules_are_all_reported_with_their_key_path() -> None:
    errors: list[str] = []
    rules = load_rules(
        {
            "secruity": {"terms": {"hacked": 3}},
            "security": {"terms": {"hacked": "high", "stolen": 0}, "colour": "red", "bias": "x"},
            "privacy": {"extra_terms": 5, "negative": "nope"},
        },
        {
            "required": {"transaction_failed": ["transaction_date", "amount", "amout|screenshot"], "fun": []},
            "x": 1,
        },
        {"high_amount": {"CNY": -1, "DOLLARS": 5}, "urgent_categories": ["securty"], "level": 3},
        errors,
    )
    expected = [
        "categories.secruity: unknown category (known: account_locked, transaction_failed, wrong_charge, "
        "funds_not_received, security, privacy, customer_service, other)",
        "categories.security.terms.hacked: weight must be a number > 0",
        "categories.security.terms.stolen: weight must be a number > 0",
        "categories.security.colour: unknown key",
        "categories.security.bias: must be a number",
        "categories.privacy.extra_terms: must be a table of term = weight, or a list of terms",
        "categories.privacy.negative: must be a list of strings",
        'evidence.required.transaction_failed[2]: unknown evidence id "amout"',
        "evidence.required.fun: unknown category",
        "evidence.x: unknown key",
        "severity.high_amount.CNY: must be a number > 0",
        "severity.high_amount.DOLLARS: not a three-letter currency code",
        "severity.urgent_categories: unknown category 'securty'",
        "severity.level: unknown key",
    ]
    for message in expected:
        assert any(error.startswith(message) for error in errors), (message, errors)
    assert len(errors) == len(expected)
    # Faulty entries keep the defaults, so the caller can still report and stop cleanly.
    assert (
        rules.required_evidence["transaction_failed"]
        == default_rules().required_evidence["transaction_failed"]
    )
    assert rules.severity.high_amount["CNY"] == default_rules().severity.high_amount["CNY"]


def test_sections_of_the_wrong_type_are_reported() -> None:
    errors: list[str] = []
    load_rules(["security"], "required", 3, errors)  # type: ignore[arg-type]
    assert errors == ["categories: must be a table", "evidence: must be a table", "severity: must be a table"]


# --------------------------------------------------------------------------- term scores


def _plain_score_terms(subject: str, text: str, rules: Rules) -> Scores:
    """Every term searched for in every mail: negatives blanked, the subject's weight extra."""
    totals: dict[str, float] = {}
    matched: list[tuple[str, str]] = []
    for category, rule in rules.categories.items():
        forms = [canonical(subject), canonical(text)]
        for pattern in rule.negative_patterns:
            blank = " | " * (pattern.count(" ") + 1)
            forms = [form.replace(f" {pattern} ", blank) for form in forms]
        totals[category] = 0.0
        for term in rule.terms:
            if f" {term.pattern} " in forms[0]:
                totals[category] += term.weight * rules.scoring.subject_weight
            elif f" {term.pattern} " in forms[1]:
                totals[category] += term.weight
            else:
                continue
            matched.append((category, term.text))
    return Scores(terms=totals, matched=tuple(matched))


def test_term_scores_are_those_of_searching_every_term() -> None:
    rules = default_rules()
    mails = [(m.subject, m.text) for m in labelled_mails(DATA / "labelled")]
    mails += [(e.subject, e.text) for e in load_corpus(DATA, corrections_file=None).heldout[::10]]
    matching = 0
    for subject, text in mails:
        scores = score_terms(subject, text, rules)
        assert scores == _plain_score_terms(subject, text, rules)
        matching += bool(scores.matched)
    assert matching >= 100  # terms were found, not only ruled out


# Term texts, negative phrases and their pieces, so that terms match, half match, sit in
# a negative phrase, straddle subject and text, or are cut by another word.
_RULES = default_rules()
_PIECES = sorted(
    {term.text for rule in _RULES.categories.values() for term in rule.terms}
    | {phrase for rule in _RULES.categories.values() for phrase in rule.negative}
    | {"not", "never", "账户", "locked", " ", "，", "my", "被"}
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(_PIECES), max_size=6).map(" ".join),
    st.lists(st.sampled_from(_PIECES), max_size=12).map("".join),
)
def test_term_scores_are_those_of_searching_every_term_on_any_mix_of_terms(subject: str, text: str) -> None:
    assert score_terms(subject, text, _RULES) == _plain_score_terms(subject, text, _RULES)
