"""Pure parts of the web app: the #category/#severity staff commands, the queue's order,
filters, search and pages (property-based), and events in words instead of template
names and Message-IDs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inbox_agent.config.loader import build_config
from inbox_agent.domain.lifecycle import SEVERITY_ORDER
from inbox_agent.domain.model import CATEGORIES, Case, CaseStatus, Event
from inbox_agent.mail.render import TemplateSet
from inbox_agent.policies.staff import StaffActionError, apply_action, parse_staff_mail
from inbox_agent.views.clock import wall_clock
from inbox_agent.views.queue import GROUPS, QueuePage, QueueQuery, build_queue
from inbox_agent.views.timeline import event_detail_words

NOW = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
CONFIG = build_config({"mailbox": {"address": "complaints@wallet.example"}}, base_dir=Path("."))


def _case(seq: int, **changes: object) -> Case:
    base = Case(
        case_id=f"WLT-2026-{seq:06d}",
        seq=seq,
        customer=f"c{seq}@example.com",
        customer_name="",
        subject=f"subject {seq}",
        language="en",
        category="other",
        categories=("other",),
        confidence=0.3,
        matched=(),
        severity="normal",
        status=CaseStatus.WAITING_STAFF,
        created_at="2026-11-20T09:30:00Z",
        updated_at="2026-11-20T09:30:00Z",
        awaiting_since="2026-11-21T09:00:00Z",
        flags=("needs_triage",),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("#category wrong_charge", "category", "wrong_charge"),
        ("#SEVERITY Urgent\nsee L1", "severity", "urgent"),
    ],
)
def test_category_and_severity_mail_commands(text: str, kind: str, value: str) -> None:
    action = parse_staff_mail(text, "agent.li@staff.wallet.example")
    assert (action.kind, action.value) == (kind, value)


def test_category_and_severity_commands_change_the_case_with_an_event() -> None:
    templates = TemplateSet()
    case = _case(1)
    action = parse_staff_mail("#category security", "li")
    updated, mails = apply_action(case, action, config=CONFIG, templates=templates, now=NOW, cause="t")
    assert updated.category == "security" and "needs_triage" not in updated.flags and mails == ()
    assert updated.events[-1].kind == "recategorized" and updated.events[-1].actor == "li"
    action = parse_staff_mail("#severity high", "li")
    updated, _ = apply_action(updated, action, config=CONFIG, templates=templates, now=NOW, cause="t")
    assert updated.severity == "high" and updated.events[-1].detail == "normal -> high"
    for bad in ("#category nonsense", "#severity extreme", "#severity high"):
        with pytest.raises(StaffActionError):
            apply_action(
                updated, parse_staff_mail(bad, "li"), config=CONFIG, templates=templates, now=NOW, cause="t"
            )


def test_events_about_mail_are_in_words() -> None:
    assert event_detail_words("mail_sent", "ack_first <WLT-2026-000001.ack_first.ab@wallet.example>") == (
        "first acknowledgement"
    )
    assert event_detail_words("ack_queued", "staff_reply <x@y>") == "staff answer"
    assert event_detail_words("note", "call back <not an id>") == "call back <not an id>"


_cases = st.lists(
    st.builds(
        lambda seq, status, level, severity, category, assignee, waited: _case(
            seq,
            status=status,
            escalation_level=level if status == CaseStatus.ESCALATED else 0,
            severity=severity,
            category=category,
            assignee=assignee,
            awaiting_since=""
            if status == CaseStatus.RESOLVED
            else (NOW - timedelta(hours=waited)).isoformat(),
            flags=("needs_triage",) if category == "other" else (),
        ),
        st.integers(1, 999_999),
        st.sampled_from(list(CaseStatus)),
        st.integers(1, 3),
        st.sampled_from(SEVERITY_ORDER),
        st.sampled_from(CATEGORIES),
        st.sampled_from(("", "li", "wang")),
        st.integers(0, 72),
    ),
    unique_by=lambda case: case.seq,
    max_size=40,
)


def _queue(cases: list[Case], query: QueueQuery, page_size: int = 7) -> QueuePage:
    return build_queue(
        [(case, f"{case.case_id} {case.customer} {case.subject}".lower()) for case in cases],
        query,
        now=NOW,
        clock_of=wall_clock(NOW, lambda category: 3600.0 if category == "security" else 86400.0),
        category_label=lambda category: category,
        tz=UTC,
        page_size=page_size,
    )


@settings(max_examples=150, deadline=None)
@given(_cases)
def test_queue_pages_cover_every_case_once_in_group_order(cases: list[Case]) -> None:
    first = _queue(cases, QueueQuery())
    rows = [row for page in range(1, first.pages + 1) for row in _queue(cases, QueueQuery(page=page)).rows]
    assert sorted(row.case_id for row in rows) == sorted(case.case_id for case in cases)
    order = [key for key, _ in GROUPS]
    ranks = [order.index(row.group) for row in rows]
    assert ranks == sorted(ranks)
    assert sum(count for _, _, count in first.counts) == len(cases)
    attention = [row for row in rows if row.group == "attention"]
    levels = [int(row.escalation[1:]) if row.escalation else 0 for row in attention]
    assert levels == sorted(levels, reverse=True)  # the highest level first


@settings(max_examples=100, deadline=None)
@given(_cases, st.sampled_from(CATEGORIES), st.sampled_from(("", "li", "unassigned")))
def test_filters_and_search_keep_exactly_the_matching_cases(
    cases: list[Case], category: str, assignee: str
) -> None:
    query = QueueQuery(category=category, assignee=assignee, needs_triage=True)
    got = {row.case_id for row in _queue(cases, query, page_size=500).rows}
    want = {
        case.case_id
        for case in cases
        if case.category == category
        and "needs_triage" in case.flags
        and (not assignee or case.assignee == ("" if assignee == "unassigned" else assignee))
    }
    assert got == want
    for case in cases[:3]:
        found = _queue(cases, QueueQuery(search=case.case_id.lower()), page_size=500).rows
        assert [row.case_id for row in found] == [case.case_id]


def test_a_case_waiting_for_the_customer_after_our_answer_shows_a_stopped_clock() -> None:
    answered = _case(5, status=CaseStatus.WAITING_CUSTOMER, awaiting_since="")
    (row,) = _queue([answered], QueueQuery()).rows
    assert row.deadline == "" and row.clock == ""
    waiting = _case(
        6, status=CaseStatus.WAITING_CUSTOMER, events=(Event("2026-11-21T09:00:00Z", "opened", "c"),)
    )
    (row,) = _queue([waiting], QueueQuery()).rows
    assert row.deadline.startswith("due in")


def test_stored_timestamps_in_event_text_read_to_the_minute() -> None:
    from inbox_agent.views.timeline import event_detail_words

    detail = "L1: waiting 6.0h since 2026-12-01T07:02:49+00:00, due 2026-12-01T08:02:49.5+00:00"
    assert event_detail_words("escalated", detail) == (
        "L1: waiting 6.0h since 2026-12-01 07:02 UTC, due 2026-12-01 08:02 UTC"
    )
