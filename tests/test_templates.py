"""The shipped reply templates: every file renders, nothing is undefined, user text is inert."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from jinja2 import meta
from markupsafe import escape

from inbox_agent.domain.languages import REPLY_LANGUAGES
from inbox_agent.domain.model import CATEGORIES
from inbox_agent.mail import compose
from inbox_agent.mail.compose import (
    ACK_KINDS,
    AckRequest,
    ResolutionRequest,
    StaffNotificationRequest,
    StaffReplyRequest,
    render_ack,
    render_resolution,
    render_staff_notification,
    render_staff_reply,
)
from inbox_agent.mail.render import TemplateError, TemplateSet, required_templates
from inbox_agent.mail.samples import SAMPLE_CASE_ID, sample_context
from inbox_agent.views.page import TEMPLATE_SAMPLES

TEMPLATES = Path(__file__).resolve().parents[1] / "inbox_agent" / "mail" / "templates"
TEMPLATE_FILES = sorted(path.name for path in TEMPLATES.glob("*.j2"))
LANGUAGES = REPLY_LANGUAGES
# A customer of each language, as acknowledgements greet them and repeat their subject.
NAMES = {"zh": "李伟", "zh-Hant": "陳美玲", "en": "Sarah Thompson"}
SUBJECTS = {"zh": "付款失败", "zh-Hant": "付款失敗", "en": "Payment failed"}
XSS = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def templates() -> TemplateSet:
    return TemplateSet(TEMPLATES)


def ack(
    language: str, kind: str = "ack_first", category: str = "transaction_failed", **changes
) -> AckRequest:
    fields = {
        "case_id": "WLT-2026-000042",
        "kind": kind,
        "language": language,
        "category": category,
        "severity": "urgent" if category == "security" else "normal",
        "response_hours": 1.0 if category == "security" else 24.0,
        "received": ("amount",),
        "missing": ("transaction_id", "screenshot"),
        "customer_name": NAMES[language],
        "original_subject": SUBJECTS[language],
        "hotline": "400-820-0000",
    }
    fields.update(changes)
    return AckRequest(**fields)


def every_customer_reply(templates: TemplateSet) -> list[tuple[str, compose.RenderedMail]]:
    """All kinds x languages x categories, plus nothing-missing, staff replies and resolutions."""
    replies = []
    for language in LANGUAGES:
        for kind in ACK_KINDS:
            for category in CATEGORIES:
                replies.append(
                    (f"{kind}/{language}/{category}", render_ack(templates, ack(language, kind, category)))
                )
            nothing_missing = ack(language, kind, "security", missing=(), received=())
            replies.append((f"{kind}/{language}/complete", render_ack(templates, nothing_missing)))
        replies.append((f"staff_reply/{language}", render_staff_reply(templates, staff_reply(language))))
        replies.append((f"resolution/{language}", render_resolution(templates, resolution(language))))
    return replies


def staff_reply(language: str, **changes) -> StaffReplyRequest:
    fields = {
        "case_id": "WLT-2026-000042",
        "language": language,
        "customer_name": "Sarah Thompson",
        "staff_name": "Chen Jing",
        "answer": "We refunded the duplicate payment of $49.99 today.",
        "original_subject": "Charged twice",
    }
    fields.update(changes)
    return StaffReplyRequest(**fields)


def resolution(language: str, **changes) -> ResolutionRequest:
    fields = {
        "case_id": "WLT-2026-000042",
        "language": language,
        "category": "wrong_charge",
        "customer_name": "Sarah Thompson",
        "summary": "The duplicate payment was refunded.",
        "original_subject": "Charged twice",
    }
    fields.update(changes)
    return ResolutionRequest(**fields)


def staff_notification(**changes) -> StaffNotificationRequest:
    fields = {
        "case_id": "WLT-2026-000042",
        "level": "L2",
        "category": "wrong_charge",
        "severity": "normal",
        "status": "escalated",
        "waited_hours": 30.0,
        "threshold_hours": 24.0,
        "customer_address": "sarah.thompson@example.net",
        "customer_name": "Sarah Thompson",
        "customer_language": "en",
        "received": ("amount", "transaction_id"),
        "missing": ("screenshot",),
        "last_message_subject": "Charged twice",
        "last_message_text": "I was charged twice, card ****1234.",
    }
    fields.update(changes)
    return StaffNotificationRequest(**fields)


# --- every file renders ------------------------------------------------------------------


def test_the_shipped_folder_has_every_required_template(templates: TemplateSet) -> None:
    assert templates.missing_templates() == []
    assert set(required_templates()) <= set(TEMPLATE_FILES)


def test_every_language_has_the_same_templates() -> None:
    by_language = {
        language: {
            name.replace(f".{language}.", ".LANG.") for name in TEMPLATE_FILES if f".{language}." in name
        }
        for language in LANGUAGES
    }
    assert by_language["zh"] == by_language["zh-Hant"] == by_language["en"]
    assert len(by_language["zh-Hant"]) == 26


@pytest.mark.parametrize("name", TEMPLATE_FILES)
def test_every_template_file_renders_with_its_sample_context(templates: TemplateSet, name: str) -> None:
    output = templates.render(name, **sample_context(templates, name, TEMPLATE_SAMPLES))
    assert output.strip()
    if not name.startswith("_") or name.startswith("_layout"):
        assert SAMPLE_CASE_ID in output
    if ".html." in name and not name.startswith("_") or name.startswith("_layout"):
        assert output.lstrip().startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_staff_escalation_renders_for_customers_of_every_language(
    templates: TemplateSet, language: str
) -> None:
    mail = render_staff_notification(templates, staff_notification(customer_language=language))
    expected = {"zh": "Chinese (Simplified)", "zh-Hant": "Chinese (Traditional)", "en": "English"}[language]
    assert f"writes in {expected}" in mail.text
    assert f"writes in {expected}" in mail.html


@pytest.mark.parametrize("name", TEMPLATE_FILES)
def test_a_missing_variable_fails_instead_of_rendering_a_hole(templates: TemplateSet, name: str) -> None:
    context = sample_context(templates, name, TEMPLATE_SAMPLES)
    source = (TEMPLATES / name).read_text(encoding="utf-8")
    used = meta.find_undeclared_variables(templates.env.parse(source))
    if not used:
        # Static text (the safety statement): renders without any context at all.
        assert templates.render(name).strip()
        return
    for variable in sorted(used):
        incomplete = {key: value for key, value in context.items() if key != variable}
        with pytest.raises(TemplateError, match=variable):
            templates.render(name, **incomplete)


def test_check_all_finds_no_problem_in_the_shipped_folder(templates: TemplateSet) -> None:
    assert templates.check_all(extra_samples=TEMPLATE_SAMPLES) == []


def test_check_all_names_a_deleted_template(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES, folder)
    (folder / "ack_followup.en.html.j2").unlink()

    problems = TemplateSet(folder).check_all(extra_samples=TEMPLATE_SAMPLES)

    assert any("ack_followup.en.html.j2" in problem for problem in problems)
    with pytest.raises(TemplateError, match=r"ack_followup\.en\.html\.j2"):
        render_ack(TemplateSet(folder), ack("en", "ack_followup"))


def test_check_all_reports_a_label_ops_removed(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES, folder)
    labels = folder / "labels.toml"
    text = labels.read_text(encoding="utf-8")
    labels.write_text(re.sub(r'(?m)^privacy = "Personal data and privacy"\n', "", text), encoding="utf-8")

    assert TemplateSet(folder).check_all(extra_samples=TEMPLATE_SAMPLES) == [
        "labels.toml: [en.categories] has no 'privacy'"
    ]


def test_check_all_reports_an_undefined_variable_and_remote_content(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES, folder)
    path = folder / "resolution.zh.html.j2"
    source = path.read_text(encoding="utf-8")
    source = source.replace(
        "感谢您的耐心。", '感谢您的耐心。<img src="https://cdn.example.com/logo.png">{{ typo_name }}'
    )
    path.write_text(source, encoding="utf-8")

    problems = TemplateSet(folder).check_all(extra_samples=TEMPLATE_SAMPLES)

    assert any("resolution.zh.html.j2" in p and "typo_name" in p for p in problems)

    path.write_text(source.replace("{{ typo_name }}", ""), encoding="utf-8")
    problems = TemplateSet(folder).check_all(extra_samples=TEMPLATE_SAMPLES)
    assert len(problems) == 1 and "resolution.zh" in problems[0] and "remote content" in problems[0]


def test_a_folder_that_does_not_exist_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="does not exist"):
        TemplateSet(tmp_path / "nowhere")


# --- what the customer reads -------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", ACK_KINDS)
def test_a_reply_names_the_case_category_and_response_time(
    templates: TemplateSet, language: str, kind: str
) -> None:
    mail = render_ack(templates, ack(language, kind, "wrong_charge", response_hours=48.0))
    label = templates.labels(language).category("wrong_charge")
    hours = {"zh": "48小时", "zh-Hant": "48小時", "en": "48 hours"}[language]
    for part in (mail.text, mail.html):
        assert "WLT-2026-000042" in part
        assert str(escape(label)) in part if part is mail.html else label in part
        assert hours in part


@pytest.mark.parametrize("language", LANGUAGES)
def test_missing_evidence_comes_with_where_to_find_it_in_the_app(
    templates: TemplateSet, language: str
) -> None:
    mail = render_ack(templates, ack(language, missing=("transaction_id", "error_message")))
    labels = templates.labels(language)
    for evidence_id in ("transaction_id", "error_message"):
        text = labels.evidence_text(evidence_id)
        assert text.label in mail.text and text.help in mail.text
        assert str(escape(text.label)) in mail.html and str(escape(text.help)) in mail.html
    # Something not asked for is not listed.
    assert labels.evidence_text("recipient").label not in mail.text


def test_the_transaction_id_help_is_the_in_app_path(templates: TemplateSet) -> None:
    assert (
        "Me → Bills → tap the payment → Transaction ID"
        in templates.labels("en").evidence_text("transaction_id").help
    )
    assert (
        "我的 → 账单 → 点开该笔交易 → 交易单号" in templates.labels("zh").evidence_text("transaction_id").help
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_followup_says_what_arrived_and_what_is_still_missing(
    templates: TemplateSet, language: str
) -> None:
    mail = render_ack(
        templates, ack(language, "ack_followup", received=("transaction_id",), missing=("screenshot",))
    )
    labels = templates.labels(language)
    received_at = mail.text.index(labels.evidence_text("transaction_id").label)
    missing_at = mail.text.index(labels.evidence_text("screenshot").label)
    assert received_at < missing_at
    assert labels.evidence_text("screenshot").help in mail.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_nothing_missing_is_said_plainly(templates: TemplateSet, language: str) -> None:
    mail = render_ack(templates, ack(language, "ack_first", missing=()))
    expected = {
        "zh": "目前不需要您再补充",
        "zh-Hant": "目前不需要您再補充",
        "en": "there is nothing more you need to send",
    }[language]
    assert expected in mail.text


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", ACK_KINDS)
def test_security_replies_urge_a_password_change_and_a_freeze(
    templates: TemplateSet, language: str, kind: str
) -> None:
    labels = templates.labels(language)
    mail = render_ack(templates, ack(language, kind, "security"))
    for part, convert in ((mail.text, str), (mail.html, lambda s: str(escape(s)))):
        assert convert(labels.phrase("freeze_path")) in part
        assert convert(labels.phrase("change_password_path")) in part
        assert "400-820-0000" in part
    urgent = {"zh": "请立即处理", "zh-Hant": "請立即處理", "en": "PLEASE ACT NOW"}[language]
    assert urgent in mail.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_other_categories_carry_no_freeze_advice(templates: TemplateSet, language: str) -> None:
    freeze = templates.labels(language).phrase("freeze_path")
    for category in CATEGORIES:
        if category not in ("security", "privacy"):  # privacy: see the wording test below
            assert freeze not in render_ack(templates, ack(language, "ack_first", category)).text


SENSITIVE = re.compile(
    r"password|\bPIN\b|verification code|card number|密码|验证码|银行卡号|密碼|驗證碼|銀行卡號", re.IGNORECASE
)
# A sentence may name a secret only to say we never ask for it / not to send it,
# to tell the customer to change their own password, or to cover it on a screenshot.
ALLOWED = re.compile(
    r"never|do not|don't|change your|change login password|cover|绝不|不要|请勿|修改登录密码|遮住"
    r"|絕不|請勿|更改登入密碼",
    re.IGNORECASE,
)


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?。！？])\s*|\n+", re.sub(r"<[^>]+>", "\n", text)) if s.strip()]


def test_replies_never_ask_for_secrets(templates: TemplateSet) -> None:
    never_ask = {
        "zh": "我们绝不会通过邮件索取您的密码",
        "zh-Hant": "我們絕不會透過郵件向您索取密碼",
        "en": "we will never ask for your password, PIN",
    }
    for description, mail in every_customer_reply(templates):
        language = description.split("/")[1]
        for part in (mail.text, mail.html):
            assert never_ask[language] in part, description
            for sentence in sentences(part):
                if SENSITIVE.search(sentence):
                    assert ALLOWED.search(sentence), f"{description}: {sentence!r}"


def test_the_secret_check_would_catch_a_request_for_a_pin() -> None:
    asking = "To verify your identity, please reply with your PIN. 请回复您的支付密码。"
    flagged = [s for s in sentences(asking) if SENSITIVE.search(s) and not ALLOWED.search(s)]
    assert len(flagged) == 2


def test_html_replies_load_nothing_from_the_network(templates: TemplateSet) -> None:
    remote = re.compile(r"https?://|src\s*=|url\s*\(|<link|<style|<script|@import", re.IGNORECASE)
    replies = every_customer_reply(templates) + [
        ("staff", render_staff_notification(templates, staff_notification()))
    ]
    for description, mail in replies:
        assert not remote.search(mail.html), description


# --- user text stays text ----------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_markup_in_a_subject_is_escaped_in_html_and_literal_in_text(
    templates: TemplateSet, language: str
) -> None:
    mail = render_ack(templates, ack(language, original_subject=XSS, customer_name=f"<b>{XSS}</b>"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in mail.html
    assert "<script" not in mail.html and "<b><script" not in mail.html
    assert XSS in mail.text
    assert XSS in mail.subject


def test_markup_from_staff_and_customers_is_escaped_in_staff_mail(templates: TemplateSet) -> None:
    note = render_staff_notification(
        templates, staff_notification(last_message_text=XSS, last_message_subject=XSS, customer_name=XSS)
    )
    assert "<script" not in note.html and note.html.count("&lt;script&gt;") == 3
    assert note.text.count(XSS) == 3
    reply = render_staff_reply(templates, staff_reply("en", answer=f"Refund sent.\n{XSS}"))
    assert "<script" not in reply.html and "&lt;script&gt;" in reply.html
    assert XSS in reply.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_template_syntax_typed_by_users_is_never_evaluated(templates: TemplateSet, language: str) -> None:
    payload = "{{7*7}} {% if true %}x{% endif %} {{ config }}"
    for mail in (
        render_ack(templates, ack(language, original_subject=payload, customer_name="{{7*7}}")),
        render_staff_reply(templates, staff_reply(language, answer=payload, staff_name="{{7*7}}")),
        render_resolution(templates, resolution(language, summary=payload)),
    ):
        for part in (mail.text, mail.html):
            assert "{{7*7}}" in part
            assert "49" not in part
            assert "{% if true %}x{% endif %}" in part
    staff = render_staff_notification(templates, staff_notification(last_message_text=payload))
    assert payload in staff.text and "49" not in staff.text


def test_text_templates_are_not_escaped_and_html_templates_are(templates: TemplateSet) -> None:
    assert not templates.env.is_async
    autoescape = templates.env.autoescape
    assert callable(autoescape)
    assert autoescape("ack_first.en.html.j2") is True
    assert autoescape("ack_first.en.txt.j2") is False
    assert autoescape("_safety.zh.html.j2") is True


# --- wording a customer would notice (issue 11) ---------------------------------------------


def test_an_outlook_last_first_display_name_is_addressed_first_last(templates: TemplateSet) -> None:
    rendered = render_ack(templates, ack("en", customer_name="Smith, John"))
    assert rendered.text.startswith("Dear John Smith,")
    assert "Smith, John" not in rendered.text + rendered.html
    assert render_ack(templates, ack("zh", customer_name="李伟")).text.startswith("李伟")


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_privacy_complaint_is_told_to_change_the_password_and_freeze(
    templates: TemplateSet, language: str
) -> None:
    labels = templates.labels(language)
    rendered = render_ack(templates, ack(language, category="privacy"))
    for part, convert in ((rendered.text, str), (rendered.html, lambda s: str(escape(s)))):
        assert convert(labels.phrase("change_password_path")) in part
        assert convert(labels.phrase("freeze_path")) in part


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_duplicate_charge_is_asked_for_both_charges(templates: TemplateSet, language: str) -> None:
    rendered = render_ack(templates, ack(language, category="wrong_charge", missing=("expected_amount",)))
    assert {"en": "both charges", "zh": "两笔扣款", "zh-Hant": "兩筆扣款"}[language] in rendered.text
    assert "The amount you expected" not in rendered.text


def test_a_locked_account_is_not_asked_for_a_transaction_date() -> None:
    from inbox_agent.config.rules import load_rules

    rules = load_rules(None, None, None, [])
    assert "transaction_date" not in str(rules.required_evidence["account_locked"])
