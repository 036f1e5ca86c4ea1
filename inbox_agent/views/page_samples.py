"""Sample cases for the staff page: what ``check`` and the tests render it with.

A small, varied set that reaches every part of ``report.html.j2``: an escalated
security case with a mail (card number and markup to mask), one waiting for staff
outside the complaint window, and a resolved one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from inbox_agent.domain.clock import iso
from inbox_agent.domain.model import Case, CaseStatus, Event, MessageRecord


def sample_cases(now: datetime, *, first_case_id: str = "WLT-2026-000123") -> list[Case]:
    """A small, varied set: an escalated security case, one waiting for staff, one resolved."""
    year = first_case_id.split("-")[1]
    first_seq = int(first_case_id.rsplit("-", 1)[1])
    return [
        _escalated_security_case(now, first_case_id, first_seq),
        _waiting_case(now, f"WLT-{year}-{first_seq + 1:06d}", first_seq + 1),
        _resolved_case(now, f"WLT-{year}-{first_seq + 2:06d}", first_seq + 2),
    ]


def _escalated_security_case(now: datetime, case_id: str, seq: int) -> Case:
    opened = iso(now - timedelta(hours=3))
    return Case(
        case_id=case_id,
        seq=seq,
        customer="sarah.thompson@example.net",
        customer_name="Sarah Thompson",
        subject="Someone paid with my wallet",
        language="en",
        category="security",
        categories=("security", "wrong_charge"),
        confidence=0.92,
        matched=(("security", "unauthorized"),),
        severity="urgent",
        status=CaseStatus.ESCALATED,
        created_at=opened,
        updated_at=iso(now - timedelta(hours=1)),
        evidence=(("amount", "USD 249.00"), ("transaction_date", "2026-11-21")),
        missing=("transaction_id", "screenshot"),
        awaiting_since=opened,
        assignee="chen.jing",
        escalation_level=2,
        events=(
            Event(at=opened, kind="opened", actor="sarah.thompson@example.net", detail="category security"),
            Event(at=opened, kind="ack_queued", actor="system", detail="ack_first"),
            Event(at=iso(now - timedelta(hours=1)), kind="escalated", actor="system", detail="L2"),
        ),
    )


def _waiting_case(now: datetime, case_id: str, seq: int) -> Case:
    yesterday = iso(now - timedelta(hours=20))
    return Case(
        case_id=case_id,
        seq=seq,
        customer="li.wei@example.cn",
        customer_name="李伟",
        subject="提现三天未到账",
        language="zh",
        category="funds_not_received",
        categories=("funds_not_received",),
        confidence=0.81,
        matched=(("funds_not_received", "未到账"),),
        severity="normal",
        status=CaseStatus.WAITING_STAFF,
        created_at=yesterday,
        updated_at=yesterday,
        evidence=(("amount", "CNY 1,200.00"), ("transaction_id", "TX20261118000042")),
        awaiting_since=yesterday,
        flags=("outside_complaint_window",),
        events=(Event(at=yesterday, kind="opened", actor="li.wei@example.cn"),),
    )


def _resolved_case(now: datetime, case_id: str, seq: int) -> Case:
    return Case(
        case_id=case_id,
        seq=seq,
        customer="amir.k@example.org",
        customer_name="Amir K.",
        subject="Charged twice for one order",
        language="en",
        category="wrong_charge",
        categories=("wrong_charge",),
        confidence=0.88,
        matched=(("wrong_charge", "charged twice"),),
        severity="normal",
        status=CaseStatus.RESOLVED,
        created_at=iso(now - timedelta(days=3)),
        updated_at=iso(now - timedelta(days=1)),
        events=(Event(at=iso(now - timedelta(days=1)), kind="resolved", actor="staff@wallet.example"),),
    )


def sample_messages(case: Case) -> list[MessageRecord]:
    return [
        MessageRecord(
            key=f"<sample@example.net>|{'0' * 64}",
            case_id=case.case_id,
            direction="in",
            message_id="<sample@example.net>",
            raw_sha256="0" * 64,
            sender=case.customer,
            subject=case.subject,
            date=case.created_at,
            received_at=case.created_at,
            source="sample",
            text="There is a payment of USD 249.00 today that I never made. "
            "My card 4111 1111 1111 1111 is linked to the wallet. <b>Please block it.</b>",
            attachments=(("statement.png", "a1b2c3.png", "image/png", 48213),),
        )
    ]
