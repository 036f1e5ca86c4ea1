"""What one mail's analysis reads once: its money amounts serve both the severity (a
large amount) and the evidence stage, and give the same results as reading them twice."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

import inbox_agent.stages.evidence_amounts as evidence_amounts
from inbox_agent.config.loader import load_config
from inbox_agent.config.rules import default_rules
from inbox_agent.pipeline.decision import Incoming
from inbox_agent.pipeline.process import analyse, analyse_many
from inbox_agent.stages.categorize import categorize
from inbox_agent.stages.evidence import Amount, extract_evidence

CONFIG = Path(__file__).resolve().parents[1] / "config.example.toml"
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def mail(index: int, amount: str) -> Incoming:
    raw = (
        f"From: Li Wei <li.wei{index}@example.cn>\r\nTo: complaints@example.com\r\n"
        f"Subject: charged twice\r\nMessage-ID: <m{index}@example.cn>\r\n"
        "Date: Fri, 04 Dec 2026 10:00:00 +0800\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"I was charged {amount} twice for one order on 2026-12-01.\r\n"
    ).encode()
    return Incoming(raw, f"imap:INBOX:1:{index}", NOW)


def test_a_batch_reads_each_mails_amounts_once(monkeypatch: pytest.MonkeyPatch) -> None:
    readings: list[str] = []
    real = evidence_amounts.amounts_in

    def counted(text: evidence_amounts.FoldedText) -> tuple[Amount, ...]:
        readings.append(text.original)
        return real(text)

    monkeypatch.setattr(evidence_amounts, "amounts_in", counted)
    config = load_config(CONFIG)
    mails = [mail(index, f"{100 + index}.00 CNY") for index in range(5)]
    analyses = analyse_many(mails, config, NOW)
    assert len(readings) == len(mails)
    assert [a.found.get("amount") for a in analyses] == [f"{100 + index}.00 CNY" for index in range(5)]
    assert all(a.categorization is not None and a.categorization.severity == "normal" for a in analyses)
    monkeypatch.undo()
    assert [analyse(m, config, NOW) for m in mails] == analyses  # the same as mail by mail


def test_amounts_given_are_the_ones_used() -> None:
    rules = default_rules()
    large = (Amount(Decimal("999999"), "CNY", 0, 6),)
    subject, text = "charged twice", "I was charged 10.00 CNY twice."
    assert categorize(subject, text, rules).severity == "normal"
    assert categorize(subject, text, rules, large).severity == "high"
    found = extract_evidence(subject, text, [], reference=NOW, tz=UTC, amounts=large)
    assert found["amount"] == "999999.00 CNY"
    assert extract_evidence(subject, text, [], reference=NOW, tz=UTC)["amount"] == "10.00 CNY"
