"""The staff web app in a real headless Chromium (Playwright driving Debian's chromium),
served by the real `inbox-agent web` process beside the real daemon cycles on Dovecot
and the aiosmtpd SMTP server.

sign in -> the escalated case first -> search by transaction id -> open -> reply with
preview -> the SMTP server receives exactly that text, in the customer's language,
threaded -> resolve -> the resolution mail -> the customer answers (a real daemon cycle
on Dovecot) -> the open queue shows the case reopened without a reload.
"""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from helpers import cli, cli_json, complaint, write_config
from webapp import WEB_TEST_SETTINGS, add_staff, browser_page, sign_in_browser, web_server

from inbox_agent.domain.clock import iso, parse_iso
from inbox_agent.views.page import STATUS_WORDS

pytestmark = pytest.mark.dovecot

WEI = "wei@example.cn"
TXN = "TX20261120ABC"
ZH_COMPLAINT = f"我的账户被盗了，有人未经授权转走了我的钱，交易号 {TXN}，金额 500 元。"
ANSWER = "我们已冻结您的账户，并将 500 元退回原支付方式。"
SUMMARY = "退款 500 元已完成，账户已恢复。"


def _parsed(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _body(raw: bytes) -> str:
    part = _parsed(raw).get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()


def _zh_complaint() -> bytes:
    msg = EmailMessage()
    msg["From"] = f"张伟 <{WEI}>"
    msg["To"] = "complaints@wallet.example"
    msg["Subject"] = "我的账户被盗了"
    msg["Message-ID"] = "<wei-1@example.cn>"
    msg["Date"] = "Fri, 20 Nov 2026 09:30:00 +0000"
    msg.set_content(ZH_COMPLAINT)
    return msg.as_bytes()


def _run_once(config: Path) -> None:
    ran = cli(config, "run", "--once")
    assert ran.returncode == 0, ran.stdout + ran.stderr


def _one_mail_to(smtp_server: Any, address: str) -> Any:
    (mail,) = [m for m in smtp_server.wait_for(1) if tuple(m.rcpt_tos) == (address,)]
    return mail


def test_sign_in_answer_resolve_and_see_the_reopened_case_without_reload(
    dovecot: Any, smtp_server: Any, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path, dovecot=dovecot, smtp=smtp_server, overrides={"web": dict(WEB_TEST_SETTINGS)}
    )
    dovecot.append(complaint("emma@example.com", "Charged twice", "You charged me twice for $12.00."))
    dovecot.append(_zh_complaint())
    _run_once(config)
    smtp_server.wait_for(2)
    cases = {case["customer"]: case["case_id"] for case in cli_json(config, "cases")}
    case_id = cases[WEI]
    started = parse_iso(cli_json(config, "show", case_id)["awaiting_since"])
    swept = cli(config, "escalate", "--now", iso(started + timedelta(minutes=90)))  # security: 1 h limit
    assert swept.returncode == 0, swept.stdout + swept.stderr
    assert cli_json(config, "show", case_id)["escalation_level"] == 1
    add_staff(config, "alice", "supervisor")
    smtp_server.clear()

    with web_server(config) as base, browser_page(tmp_path / "profile") as page:
        sign_in_browser(page, base, "alice")
        assert page.locator("#queue-rows tr").first.get_attribute("data-case") == case_id
        assert "L1" in page.locator("#queue-rows tr").first.inner_text()

        page.fill("input[name=q]", TXN)
        page.click("form.filters button[type=submit]")
        page.wait_for_url("**q=*")
        rows = page.locator("#queue-rows tr")
        assert rows.count() == 1 and rows.first.get_attribute("data-case") == case_id

        rows.first.locator("td.id a").click()
        page.wait_for_url(f"{base}/cases/{case_id}")
        # Why this category: the n-grams and the network's share of the decision.
        why = page.locator("ul.why").inner_text()
        assert "n-grams:" in why and "second opinion (the network beside the n-grams): security" in why
        page.fill("textarea[name=text] >> nth=0", ANSWER)
        page.click("#preview-reply")
        previewed = page.locator("#preview-text").text_content()
        assert previewed and ANSWER in previewed and "您好" in previewed
        page.click("#send-reply")
        page.wait_for_url(f"{base}/cases/{case_id}?done=*")

        _run_once(config)  # the daemon sends what the web app queued
        reply = _one_mail_to(smtp_server, WEI)
        sent = _parsed(reply.raw)
        # Exactly the previewed text; mail lines end in CRLF on the wire (RFC 5322).
        assert _body(reply.raw).replace("\r\n", "\n") == previewed
        assert sent["In-Reply-To"] == "<wei-1@example.cn>" and "<wei-1@example.cn>" in sent["References"]
        assert f"[{case_id}]" in sent["Subject"]

        smtp_server.clear()
        page.fill("form[action$='/act/resolve'] textarea", SUMMARY)
        page.click("#resolve")
        page.wait_for_url(f"{base}/cases/{case_id}?done=*")
        _run_once(config)
        resolution = _one_mail_to(smtp_server, WEI)
        assert SUMMARY in _body(resolution.raw) and "已处理完毕" in _body(resolution.raw)
        assert cli_json(config, "show", case_id)["status"] == "resolved"

        page.goto(f"{base}/")
        row = page.locator(f"#queue-rows tr[data-case='{case_id}'] .status")
        assert row.inner_text() == "resolved"
        page.evaluate("window.__stayed = 'no reload'")

        answer = complaint(
            WEI,
            f"Re: [{case_id}] 我的账户被盗了",
            "钱还没有到账。",
            in_reply_to=_parsed(resolution.raw)["Message-ID"],
        )
        dovecot.append(answer)
        _run_once(config)
        reopened = cli_json(config, "show", case_id)
        assert reopened["status"] != "resolved" and reopened["awaiting_since"]
        words = STATUS_WORDS[reopened["status"]]
        page.wait_for_function(
            f"document.querySelector(\"#queue-rows tr[data-case='{case_id}'] .status\").textContent"
            f" === '{words}'",
            timeout=20_000,
        )
        assert "due in" in page.locator(f"#queue-rows tr[data-case='{case_id}'] .clock").inner_text()
        assert page.evaluate("window.__stayed") == "no reload"
