"""Sample requests and contexts for the template check and the template tests.

They cover the mail templates only. A template of a higher layer (the staff page's
``report.html.j2``) gets its sample from that layer: the caller passes a provider per
template family in ``extra_samples`` (see ``TemplateSet.check_all``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from inbox_agent.domain.jurisdiction import NextStep
from inbox_agent.domain.languages import ENGLISH, SIMPLIFIED_CHINESE, TRADITIONAL_CHINESE
from inbox_agent.domain.model import CATEGORIES
from inbox_agent.mail.compose import (
    ACK_KINDS,
    AckRequest,
    HoldingRequest,
    RenderedMail,
    ResolutionRequest,
    StaffNotificationRequest,
    StaffReplyRequest,
    ack_context,
    holding_context,
    render_ack,
    render_holding_reply,
    render_resolution,
    render_staff_notification,
    render_staff_reply,
    resolution_context,
    staff_notification_context,
    staff_reply_context,
)
from inbox_agent.mail.labels import LANGUAGES, TemplateSource

SAMPLE_CASE_ID = "WLT-2026-000123"
# A customer of each reply language, as a reply greets them and repeats their subject.
_SAMPLE_NAMES = {SIMPLIFIED_CHINESE: "王小明", TRADITIONAL_CHINESE: "陳大文", ENGLISH: "Alex Morgan"}
_SAMPLE_SUBJECTS = {
    SIMPLIFIED_CHINESE: "付款失败",
    TRADITIONAL_CHINESE: "付款失敗",
    ENGLISH: "Payment failed",
}

T = TypeVar("T", bound=TemplateSource)
# A template family ("report" for report.html.j2 and any _report.* partial) -> a function
# that returns a context rendering every file of that family on its own.
SampleProviders = Mapping[str, Callable[[T], dict[str, Any]]]


def sample_ack_requests(language: str) -> list[AckRequest]:
    """Every kind x every category, plus a security case and a case with nothing missing."""

    def request(kind: str, category: str, missing: tuple[str, ...], received: tuple[str, ...]) -> AckRequest:
        return AckRequest(
            case_id=SAMPLE_CASE_ID,
            kind=kind,
            language=language,
            category=category,
            severity="urgent" if category == "security" else "normal",
            response_hours=1.0 if category == "security" else 24.0,
            received=received,
            missing=missing,
            customer_name=_SAMPLE_NAMES[language],
            original_subject=_SAMPLE_SUBJECTS[language],
            hotline="400-000-0000",
            # The security sample also tells about the complaint window and answers a mail that
            # arrived encrypted: every branch renders.
            window_days=60 if category == "security" else 0,
            incident_date="2026-01-05" if category == "security" else "",
            encrypted="S/MIME" if category == "security" else "",
            logged=category == "other",  # a complaint staff took by phone
        )

    requests = [
        request(kind, category, ("transaction_id", "screenshot"), ("amount",))
        for kind in ACK_KINDS
        for category in CATEGORIES
    ]
    requests += [request(kind, "transaction_failed", (), ()) for kind in ACK_KINDS]
    requests += [request(kind, "security", (), ("transaction_date",)) for kind in ACK_KINDS]
    return requests


def sample_staff_reply_request(language: str) -> StaffReplyRequest:
    return StaffReplyRequest(
        case_id=SAMPLE_CASE_ID,
        language=language,
        customer_name=_SAMPLE_NAMES[language],
        staff_name="Chen Jing",
        answer="The refund of 128.00 was issued today.\nIt reaches your balance within 1 business day.",
        original_subject="Payment failed",
    )


SAMPLE_NEXT_STEPS = (
    NextStep(
        "internal",
        "Our complaints review team",
        "我们的投诉复核组",
        "review@wallet.example",
        "我們的投訴覆核組",
    ),
    NextStep("platform", "The consumer association", "消费者协会", "12315", "消費者協會"),
)


def sample_resolution_request(language: str) -> ResolutionRequest:
    return ResolutionRequest(
        case_id=SAMPLE_CASE_ID,
        language=language,
        category="wrong_charge",
        customer_name=_SAMPLE_NAMES[language],
        summary="The duplicate charge was refunded.",
        original_subject="Charged twice",
        next_steps=SAMPLE_NEXT_STEPS,
        determination="upheld",
        redress="20.00 USD",
    )


def sample_holding_request(language: str) -> HoldingRequest:
    return HoldingRequest(
        case_id=SAMPLE_CASE_ID,
        language=language,
        customer_name=_SAMPLE_NAMES[language],
        original_subject="Charged twice",
        received_date="2026-09-30",
        final_date="2026-10-30",
        missing=("transaction_id",),
        next_steps=SAMPLE_NEXT_STEPS,
    )


def sample_staff_notification_requests() -> list[StaffNotificationRequest]:
    def request(
        level: str, category: str, severity: str, missing: tuple[str, ...]
    ) -> StaffNotificationRequest:
        return StaffNotificationRequest(
            case_id=SAMPLE_CASE_ID,
            level=level,
            category=category,
            severity=severity,
            status="escalated",
            waited_hours=26.5,
            threshold_hours=24.0,
            customer_address="alex@example.com",
            customer_name="Alex Morgan",
            customer_language="zh",
            received=("amount", "transaction_date"),
            missing=missing,
            last_message_subject="Payment failed",
            last_message_text="My card ****1234 was charged twice.\nPlease refund.",
        )

    return [
        request("L1", "wrong_charge", "normal", ("transaction_id",)),
        request("L2", "security", "urgent", ()),
    ]


def template_language(template_name: str) -> str:
    """ "ack_first.zh-Hant.html.j2" -> "zh-Hant"; a file of no language ("_layout.html.j2") -> "en"."""
    return next((part for part in template_name.split(".")[1:] if part in LANGUAGES), ENGLISH)


def template_family(template_name: str) -> str:
    """ "ack_first.en.html.j2" -> "ack_first"; a partial "_missing.zh.txt.j2" -> "missing"."""
    return template_name.lstrip("_").split(".")[0]


def sample_context(
    templates: T, template_name: str, extra_samples: SampleProviders[T] | None = None
) -> dict[str, Any]:
    """A context that renders ``template_name`` on its own (partials and layouts included).

    ``extra_samples`` provides the contexts of families outside the mail layer; a file
    of any other family (an extra file ops added) gets the acknowledgement sample.
    """
    language = template_language(template_name)
    family = template_family(template_name)
    if extra_samples and family in extra_samples:
        return extra_samples[family](templates)
    if family == "staff_escalation":
        return staff_notification_context(templates, sample_staff_notification_requests()[1])
    if family == "staff_reply":
        return staff_reply_context(templates, sample_staff_reply_request(language))
    if family in ("resolution", "next_steps", "determination"):
        return resolution_context(templates, sample_resolution_request(language))
    if family == "holding_reply":
        return holding_context(templates, sample_holding_request(language))
    # Acknowledgements, their partials and the layout: a security case exercises every branch.
    kind = family if family in ACK_KINDS else "ack_first"
    security = next(r for r in sample_ack_requests(language) if r.kind == kind and r.category == "security")
    return ack_context(templates, security)


def sample_renders(templates: TemplateSource) -> list[tuple[str, Callable[[], RenderedMail]]]:
    """(description, zero-argument render) for every kind, language and sample case."""
    samples: list[tuple[str, Callable[[], RenderedMail]]] = []
    for language in LANGUAGES:
        for request in sample_ack_requests(language):
            description = f"{request.kind}.{language} ({request.category}, missing {len(request.missing)})"
            samples.append((description, lambda r=request: render_ack(templates, r)))
        reply = sample_staff_reply_request(language)
        samples.append((f"staff_reply.{language}", lambda r=reply: render_staff_reply(templates, r)))
        resolution = sample_resolution_request(language)
        samples.append((f"resolution.{language}", lambda r=resolution: render_resolution(templates, r)))
        holding = sample_holding_request(language)
        samples.append((f"holding_reply.{language}", lambda r=holding: render_holding_reply(templates, r)))
    for request in sample_staff_notification_requests():
        samples.append(
            (
                f"staff_escalation ({request.level}, {request.category})",
                lambda r=request: render_staff_notification(templates, r),
            )
        )
    return samples
