"""Traditional Chinese (繁體) as a reply language: detection, the zh-Hant templates and
words, config, and a Big5 complaint answered in Traditional Chinese end to end (the
acknowledgement, the holding reply, a staff reply, the resolution, the web app)."""

from __future__ import annotations

import email
import email.policy
import re
import shutil
from datetime import UTC, datetime, timedelta
from email.header import Header
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeMailbox, FakeStore
from helpers import cli, cli_json, complaint, write_config
from webapp import WEB_TEST_SETTINGS, add_staff, app_client, csrf_of, sign_in

from inbox_agent.config.loader import Config, ConfigError, load_config
from inbox_agent.domain.clock import FixedClock
from inbox_agent.domain.languages import REPLY_LANGUAGES, language_name, reply_language
from inbox_agent.mail import samples
from inbox_agent.mail.compose import format_duration, render_ack
from inbox_agent.mail.render import SHIPPED_TEMPLATES, TemplateSet
from inbox_agent.policies.regulatory import case_clocks
from inbox_agent.services.intake import Intake
from inbox_agent.services.staff_actions import StaffAction, act_on_case
from inbox_agent.services.sweep import run_sweep
from inbox_agent.stages.chinese_script import SIMPLIFIED_ONLY, TRADITIONAL_ONLY
from inbox_agent.stages.language import detect_language
from inbox_agent.views.page import TEMPLATE_SAMPLES

TEMPLATES = TemplateSet()
SIMPLIFIED = re.compile(f"[{SIMPLIFIED_ONLY}]")

TRADITIONAL_MAILS = [
    "我個戶口俾人凍結咗",  # Hong Kong, Cantonese written as spoken
    "你好，我個戶口俾人凍結咗，三日都未搞掂，入唔到錢又過唔到數，好急呀！",
    "我的帳戶被鎖住了，請幫忙處理",  # Taiwan
    "您好，我昨天用錢包付款時一直顯示交易失敗，但銀行那邊已經扣款了，麻煩儘快幫我查詢，謝謝。",
    "轉帳給朋友的款項到現在還沒入帳，交易編號是 TX20261120001，請問要等多久？",  # Macau or Taiwan
]
SIMPLIFIED_MAILS = [
    "我的账户被锁住了，请帮忙处理",
    "你好，我昨天用钱包付款时一直显示交易失败，但银行那边已经扣款了，麻烦尽快帮我查询，谢谢。",
    # Quoting a few Traditional characters (a Hong Kong merchant's message) stays Simplified.
    "商家页面显示「交易失敗，請重試」，可是钱已经扣了，我该怎么办？",
    "我在台灣旅游时付款失败了，对方说「系統維護中」，请问怎么处理？",
]


def _sig(language: str) -> str:
    return {"zh": "钱包客户服务中心", "zh-Hant": "錢包客戶服務中心"}[language]


# --- detection -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", TRADITIONAL_MAILS)
def test_traditional_chinese_mail_is_zh_hant(text: str) -> None:
    assert detect_language(text) == "zh-Hant"


@pytest.mark.parametrize("text", SIMPLIFIED_MAILS)
def test_simplified_chinese_mail_stays_zh(text: str) -> None:
    assert detect_language(text) == "zh"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hi, my 帳戶 was locked yesterday, 請幫忙處理 asap, thanks", "zh-Hant"),
        ("Hi, my 账户 was locked yesterday, 请帮忙处理 asap, thanks", "zh"),
        # English with a Traditional signature is still English.
        (
            "Hello, my transfer of 500 HKD to my sister never arrived. It has been five days and the "
            "app still says processing. Please help me find it.\n\nBest regards,\n陳大文\n香港灣仔軒尼詩道 1 號",
            "en",
        ),
        # As much of one script as of the other: undecided, so Simplified as before.
        ("我的帳戶被鎖了。我的账户被锁了。", "zh"),
        # Characters both scripts write (后, 里, 台, 户, 着) do not make it Traditional.
        ("我的户口后来被冻着了，在台里等候处理", "zh"),
    ],
)
def test_mixed_and_ambiguous_text(text: str, expected: str) -> None:
    assert detect_language(text) == expected


def test_the_script_is_judged_on_the_start_of_a_long_mail() -> None:
    simplified = "我的账户被冻结了，请尽快帮我处理这个问题。" * 300  # 6,300 characters
    assert detect_language(simplified + "帳戶凍結，請幫忙處理。" * 500) == "zh"


def test_the_script_sets_are_apart_and_hold_only_one_script() -> None:
    assert not set(TRADITIONAL_ONLY) & set(SIMPLIFIED_ONLY)
    assert set(
        "們這說帳戶無請為錢東個會對還現麼開關號碼幫問題給轉運費郵時間過讓應該門後從處裡點鐘發張"
    ) <= set(TRADITIONAL_ONLY)
    assert set("们这说账无请为钱东个会对还现么开关号码帮问题给转运邮时间过让应该门从处点钟发张") <= set(
        SIMPLIFIED_ONLY
    )
    # Written in both scripts (or in Hong Kong's Traditional): never evidence either way.
    assert not set("后里台户着干于才只余面云我的付款") & (set(TRADITIONAL_ONLY) | set(SIMPLIFIED_ONLY))


# --- languages, templates and words ----------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "expected"),
    [("zh-Hant", "zh-Hant"), ("zh-TW", "zh-Hant"), ("zh_HK", "zh-Hant"), ("zh-Hant-MO", "zh-Hant")]
    + [("zh", "zh"), ("zh-CN", "zh"), ("zh-Hans-HK", "zh"), ("en", "en"), ("en-GB", "en"), ("", "fr")],
)
def test_language_tags_map_to_a_reply_language(tag: str, expected: str) -> None:
    assert reply_language(tag, "fr") == expected


def test_staff_read_the_language_as_words() -> None:
    assert [language_name(code) for code in REPLY_LANGUAGES] == [
        "Chinese (Simplified)",
        "Chinese (Traditional)",
        "English",
    ]


def test_every_simplified_template_has_a_traditional_one() -> None:
    simplified = {path.name.replace(".zh.", ".") for path in SHIPPED_TEMPLATES.glob("*.zh.*.j2")}
    traditional = {path.name.replace(".zh-Hant.", ".") for path in SHIPPED_TEMPLATES.glob("*.zh-Hant.*.j2")}
    assert simplified == traditional and len(traditional) == 26


def _traditional_renders() -> list[tuple[str, str]]:
    """Every zh-Hant mail of the template check, and every zh-Hant file on its own."""
    rendered = []
    for description, render in samples.sample_renders(TEMPLATES):
        if ".zh-Hant" in description:
            mail = render()
            rendered += [(description, mail.subject), (description, mail.text), (description, mail.html)]
    for path in sorted(SHIPPED_TEMPLATES.glob("*.zh-Hant.*.j2")):
        context = samples.sample_context(TEMPLATES, path.name)
        rendered.append((path.name, TEMPLATES.render(path.name, **context)))
    return rendered


def test_no_simplified_only_character_in_any_traditional_reply() -> None:
    rendered = _traditional_renders()
    assert len(rendered) > 100
    for description, text in rendered:
        assert not SIMPLIFIED.findall(text), (description, SIMPLIFIED.findall(text))
    labels = TEMPLATES.labels("zh-Hant")
    words = [*labels.categories.values(), *labels.phrases.values()]
    words += [text for entry in labels.evidence.values() for text in (entry.label, entry.help)]
    assert not SIMPLIFIED.findall("".join(words))


def test_traditional_replies_use_traditional_wording() -> None:
    text = "".join(text for _, text in _traditional_renders())
    for word in ("帳戶", "資料", "客服", "交易編號", "截圖", "登入密碼", "回覆", "透過", "錢包客戶服務中心"):
        assert word in text, word
    for mainland in ("账户", "信息", "交易单号", "登录", "通过", "回复"):
        assert mainland not in text, mainland
    assert '<html lang="zh-Hant">' in text and "PingFang TC" in text


def test_a_template_folder_made_before_traditional_replies_answers_in_simplified(tmp_path: Path) -> None:
    """A `[templates] dir` copied from an older release: no mail is quarantined for want
    of a zh-Hant template; `check` says what to add."""
    folder = tmp_path / "templates"
    shutil.copytree(SHIPPED_TEMPLATES, folder, ignore=shutil.ignore_patterns("*.zh-Hant.*"))
    labels = (folder / "labels.toml").read_text(encoding="utf-8")
    (folder / "labels.toml").write_text(re.sub(r"\[zh-Hant\.[^\[]*", "", labels), encoding="utf-8")
    old = TemplateSet(folder)
    request = next(r for r in samples.sample_ack_requests("zh-Hant") if r.kind == "ack_first")
    assert "感谢您联系我们" in render_ack(old, request).text
    problems = old.check_all(TEMPLATE_SAMPLES)
    assert "labels.toml: no [zh-Hant] table" in problems
    assert any(problem.endswith("ack_first.zh-Hant.txt.j2") for problem in problems)


def test_durations_in_traditional_chinese() -> None:
    assert format_duration(1.5, "zh-Hant") == "1小時30分鐘"
    assert format_duration(96, "zh-Hant") == "4天"
    assert format_duration(1.5, "zh") == "1小时30分钟"


# --- config ------------------------------------------------------------------------------------


def _config(tmp_path: Path, extra: str = "", **acknowledge: Any) -> Config:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = write_config(tmp_path, overrides={"acknowledge": acknowledge} if acknowledge else None)
    path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return load_config(path)


def test_default_language_zh_hant_is_accepted(tmp_path: Path) -> None:
    assert _config(tmp_path, default_language="zh-Hant").acknowledge.default_language == "zh-Hant"
    with pytest.raises(ConfigError, match="zh, zh-Hant, en"):
        _config(tmp_path / "bad", default_language="zh-TW")


def test_a_zh_rule_still_covers_traditional_mail_and_a_zh_hant_rule_only_that(tmp_path: Path) -> None:
    rule = '\n[[regulatory.rule]]\nlanguage = "{}"\njurisdiction = "{}"\n'
    extra = rule.format("zh-Hant", "PSD2") + rule.format("zh", "CN-PBoC")
    regulatory = _config(tmp_path, extra).regulatory
    assert regulatory.jurisdiction_for("chan@example.hk", (), "zh-Hant") == "PSD2"
    assert regulatory.jurisdiction_for("li@example.cn", (), "zh") == "CN-PBoC"
    assert regulatory.jurisdiction_for("eva@example.de", (), "en") == ""
    only_zh = _config(tmp_path / "zh", rule.format("zh", "CN-PBoC")).regulatory
    assert only_zh.jurisdiction_for("chan@example.hk", (), "zh-Hant") == "CN-PBoC"


# --- the replies after the acknowledgement (in process, against the in-memory store) ---------

RECEIVED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
NEXT_STEP = (
    '\n[regulatory]\ndefault = "PSD2"\n'
    '\n[[regulatory.jurisdiction.PSD2.next_step]]\nkind = "internal"\nname_en = "Our review panel"\n'
    'name_zh = "投诉复核组"\nname_zh_hant = "投訴覆核組"\ncontact = "review@wallet.example"\n'
)


def _outbox_text(store: FakeStore, kind: str) -> list[str]:
    texts = []
    for entry in store.outbox_entries():
        if entry["kind"] == kind:
            raw = store.get_blob(entry["raw_sha256"])
            message = email.message_from_bytes(raw, policy=email.policy.default)
            texts.append(message.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
    return texts


def _file(config: Config, store: FakeStore, sender: str, subject: str, body: str) -> str:
    raw = complaint(sender, subject, body, date=RECEIVED)
    Intake(config, store, FakeMailbox([raw]), TEMPLATES, FixedClock(RECEIVED)).poll()  # type: ignore[arg-type]
    return next(case.case_id for case in store.cases.values() if case.customer == sender)


def test_holding_reply_staff_reply_and_resolution_in_traditional_chinese(tmp_path: Path) -> None:
    config, store = _config(tmp_path, NEXT_STEP), FakeStore()
    case_id = _file(config, store, "chan@example.hk", "轉帳未入帳", TRADITIONAL_MAILS[4])
    assert store.cases[case_id].language == "zh-Hant"
    holding = case_clocks(store.cases[case_id], config, RECEIVED).state("holding")
    assert holding is not None
    run_sweep(config, store, TEMPLATES, holding.deadline + timedelta(minutes=1))
    act_on_case(store, config, TEMPLATES, case_id, StaffAction("reply", "li", "已為您重新撥款。"), RECEIVED)
    act_on_case(store, config, TEMPLATES, case_id, StaffAction("resolve", "li", "款項已入帳。"), RECEIVED)
    (ack,) = _outbox_text(store, "ack_first")
    (held,) = _outbox_text(store, "holding_reply")
    (answer,) = _outbox_text(store, "staff_reply")
    (resolution,) = _outbox_text(store, "resolution")
    assert "感謝您聯絡我們" in ack and "仍在處理中" in held and "投訴覆核組" in held
    assert "我們的回覆如下" in answer and "已為您重新撥款。" in answer
    assert "已處理完畢" in resolution and "投訴覆核組" in resolution
    for text in (ack, held, answer, resolution):
        assert _sig("zh-Hant") in text and not SIMPLIFIED.findall(text), text


def test_a_case_stored_as_zh_is_still_answered_in_simplified(tmp_path: Path) -> None:
    config, store = _config(tmp_path, NEXT_STEP), FakeStore()
    case_id = _file(config, store, "li@example.cn", "转账未到账", SIMPLIFIED_MAILS[1])
    assert store.cases[case_id].language == "zh"
    act_on_case(store, config, TEMPLATES, case_id, StaffAction("reply", "li", "已为您重新打款。"), RECEIVED)
    (answer,) = _outbox_text(store, "staff_reply")
    assert "我们的答复如下" in answer and _sig("zh") in answer


# --- end to end: Big5 mail in, a Traditional Chinese acknowledgement out ---------------------


def _big5_complaint(sender: str, subject: str, body: str, charset: str) -> bytes:
    """As Taiwanese and Hong Kong mail clients write it: Big5 bytes, 8bit, Big5 subject."""
    codec = charset.replace("-", "")
    head = (
        f"From: {sender}\nTo: complaints@wallet.example\n"
        f"Subject: {Header(subject, charset).encode()}\n"
        f"Date: Fri, 20 Nov 2026 09:30:00 +0800\nMessage-ID: <{codec}-1@customer.example>\n"
        f"MIME-Version: 1.0\nContent-Type: text/plain; charset={charset}\n"
        "Content-Transfer-Encoding: 8bit\n\n"
    )
    return head.encode("ascii") + body.encode(codec) + b"\n"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("traditional")
    maildir = folder / "maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    tw = "您好，我的帳戶被鎖住了，無法登入，也不能轉帳。請幫忙處理，謝謝！註冊手機號碼後四位是 5678。"
    hk = "你好，我個戶口俾人凍結咗，登入唔到，轉帳俾朋友嘅錢都未到，唔該盡快幫我處理。"
    mails = {
        "1.mail": _big5_complaint("lin@example.tw", "帳戶被鎖住了", tw, "big5"),
        "2.mail": _big5_complaint("chan@example.hk", "戶口被凍結", hk, "big5-hkscs"),
        "3.mail": complaint("wang@example.cn", "账户被锁住了", SIMPLIFIED_MAILS[0] + "，无法登录。"),
    }
    for name, raw in mails.items():
        (maildir / "new" / name).write_bytes(raw)
    config = write_config(folder, maildir=maildir, overrides={"web": dict(WEB_TEST_SETTINGS)})
    ran = cli(config, "run", "--once")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    replies = {}
    for path in (folder / "outbox").glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        replies[str(message["To"])] = message
    cases = {case["customer"]: case for case in cli_json(config, "cases")}
    return {"config": config, "replies": replies, "cases": cases}


@pytest.mark.parametrize("customer", ["lin@example.tw", "chan@example.hk"])
def test_a_big5_complaint_is_acknowledged_in_traditional_chinese(site: dict[str, Any], customer: str) -> None:
    assert site["cases"][customer]["language"] == "zh-Hant"
    reply = site["replies"][customer]
    text = reply.get_body(preferencelist=("plain",)).get_content()
    html = reply.get_body(preferencelist=("html",)).get_content()
    assert "感謝您聯絡我們" in text and "帳戶被鎖定或凍結" in text and _sig("zh-Hant") in text
    assert '<html lang="zh-Hant">' in html
    assert not SIMPLIFIED.findall(str(reply["Subject"]) + text + html)


def test_a_simplified_complaint_in_the_same_batch_is_answered_in_simplified(site: dict[str, Any]) -> None:
    assert site["cases"]["wang@example.cn"]["language"] == "zh"
    text = site["replies"]["wang@example.cn"].get_body(preferencelist=("plain",)).get_content()
    assert "感谢您联系我们" in text and "账户被锁定或冻结" in text and _sig("zh") in text


def test_the_web_app_names_the_language_and_previews_in_it(site: dict[str, Any]) -> None:
    add_staff(site["config"], "alice", "supervisor")
    client = app_client(site["config"])
    assert sign_in(client, "alice").status_code == 303
    case_id = site["cases"]["lin@example.tw"]["case_id"]
    page = client.get(f"/cases/{case_id}").text
    assert "Chinese (Traditional)" in page
    queue = client.get("/", params={"language": "zh-Hant"}).text
    assert case_id in queue and site["cases"]["wang@example.cn"]["case_id"] not in queue
    assert '<option value="zh-Hant" selected>Chinese (Traditional)</option>' in queue
    token = csrf_of(client.get("/").text)
    preview = client.post(f"/cases/{case_id}/preview", data={"csrf": token, "text": "帳戶已解鎖。"}).text
    assert "Preview in Chinese (Traditional)" in preview and "我們的回覆如下" in preview
