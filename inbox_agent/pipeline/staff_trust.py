"""Is a staff-like sender proven, for the action the mail asks for? And what happens
when not: the mail is a customer's mail from that address, the case it aimed at only
records why (and L1 is alerted), nothing is done to it and nobody on it is mailed.

Proofs (``[trust] staff_command`` / ``staff_answer``): ``aligned`` — our own server's
DMARC pass, or a DKIM/SPF pass aligned with the From domain; ``notification_reply`` —
In-Reply-To/References carry the Message-ID of a notification we sent to that very
address (unguessable: policies/notified.py). A DMARC fail is never outweighed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from html import escape

from inbox_agent.config.loader import Config
from inbox_agent.config.trust import ALIGNED, NOTIFICATION_REPLY
from inbox_agent.domain.clock import iso
from inbox_agent.domain.lifecycle import add_event, add_message_ids
from inbox_agent.domain.mask import mask_text
from inbox_agent.domain.model import LOOP_HEADER, Case, OutgoingMail
from inbox_agent.mail.compose import build_email_bytes, make_message_id
from inbox_agent.mail.text import single_line
from inbox_agent.pipeline.steps import MailWork
from inbox_agent.policies.notified import notifications_to, notified_detail, unguessable
from inbox_agent.stages.authentication import FAIL
from inbox_agent.stages.thread import ThreadMatch

UNAUTHENTICATED_STAFF = "unauthenticated staff-like sender"
ALERT_KIND = "sender_alert"


@dataclass(frozen=True)
class Proof:
    kind: str  # ALIGNED | NOTIFICATION_REPLY
    detail: str  # which result or which notification


def staff_proof(work: MailWork, case: Case, action_kind: str) -> Proof | None:
    """The proof this staff-like sender brings for ``action_kind``, or None."""
    trust, auth, msg = work.config.trust, work.sender_auth, work.parsed
    if auth is not None and auth.verdict == FAIL:
        return None
    accepted = trust.staff_answer if action_kind == "reply" else trust.staff_command
    if ALIGNED in accepted and auth is not None and auth.aligned_pass:
        return Proof(ALIGNED, f"{auth.rule} by {auth.authserv_id}")
    if NOTIFICATION_REPLY in accepted:
        bound = notifications_to(case, msg.sender) & set(msg.in_reply_to + msg.references)
        if bound:
            return Proof(NOTIFICATION_REPLY, f"reply to our notification {sorted(bound)[0]}")
    return None


def why_unproven(work: MailWork, action_kind: str) -> str:
    auth = work.sender_auth
    accepted = work.config.trust.staff_answer if action_kind == "reply" else work.config.trust.staff_command
    said = auth.rule if auth is not None else "not checked"
    return f"{UNAUTHENTICATED_STAFF} ({action_kind}): sender check: {said}; accepted proofs: {', '.join(accepted)}"


def refuse_staff(work: MailWork, case: Case, action_kind: str) -> None:
    """Turn the mail into a customer's mail from its address: the case it aimed at gets
    an event (nothing else changes) and L1 gets an alert, queued with the mail."""
    msg, why = work.parsed, why_unproven(work, action_kind)
    alert = _alert_mail(work, case, why)
    detail = f"{why}; nothing done, handled as a customer mail from that address"
    if alert is not None:
        detail += f"; {notified_detail(alert.recipients, alert.message_id)}"
    updated = add_event(case, iso(work.now), ALERT_KIND, msg.sender, detail)
    work.related.append(updated)
    if alert is not None:
        work.alerts.append(alert)
    work.trust_notes.append(f"{why}; wrote on {case.case_id}, which was not changed")
    refused = (*(work.match.refused if work.match else ()), case.case_id)
    work.match = ThreadMatch(case=None, via="", refused=refused)


def _alert_mail(work: MailWork, case: Case, why: str) -> OutgoingMail | None:
    recipients = l1_recipients(work.config)
    if not recipients:
        return None
    msg, config = work.parsed, work.config
    unique = f"{case.case_id}.{ALERT_KIND}.{msg.raw_sha256[:16]}"
    message_id = make_message_id(config.message_id_domain, unguessable(unique, work.salt))
    text = (
        f"A mail claiming to be from staff wrote on case {case.case_id}, but its sender is not proven.\n\n"
        f"From:    {single_line(msg.sender)}\n"
        f"Subject: {mask_text(single_line(msg.subject))[:200]}\n"
        f"Why:     {why}\n\n"
        "Nothing was done to the case and nothing was sent to its customer. The mail was\n"
        "handled as a customer mail from that address. If it really was a colleague, ask them\n"
        "to reply to a notification about the case, or check the mail server's DKIM/SPF/DMARC.\n"
    )
    raw = build_email_bytes(
        from_addr=config.mailbox.address,
        from_name=config.acknowledge.from_name,
        to_addr=recipients,
        subject=f"[{case.case_id}] Security: {UNAUTHENTICATED_STAFF}",
        text=text,
        html=f"<pre>{escape(text)}</pre>",
        message_id=message_id,
        in_reply_to="",
        references=(),
        date=work.now,
        loop_header=LOOP_HEADER,
        loop_token=config.loop_token,
        extra_headers={"Reply-To": config.mailbox.address},
    )
    return OutgoingMail(unique, case.case_id, ALERT_KIND, message_id, config.mailbox.address, recipients, raw)


LIKELY_PHISHING = "likely_phishing"
RELAYED = "relayed"  # the event: a web form relayed the mail (stages/form_relay.py)
FORWARDED = "forwarded"  # the event: staff forwarded the customer's mail (staff_forward.py)
FORGED_SENDER = "forged_sender"


def record_sender_checks(work: MailWork, case: Case) -> Case:
    """What the sender checks found, on the mail's own case: the verdict and its rule
    for every customer mail, a flag for a look-alike domain or a forged From line."""
    msg, at, auth = work.parsed, iso(work.now), work.sender_auth
    flags = list(case.flags)
    if msg.relayed_by:
        detail = f"sent by {msg.relayed_by}; the customer's address is its {msg.relay_field}, as typed into the form"
        case = add_event(case, at, RELAYED, msg.relayed_by, detail)
    if work.forward is not None:
        # The original's Message-ID joins the case: the customer's own copy of the same
        # mail, sent to us as well, is then known as the same mail (thread "message-id").
        ids = add_message_ids(case.message_ids, work.forward.original_message_id)
        case = add_event(case, at, FORWARDED, work.forward.by, work.forward.detail, message_ids=ids)
    if auth is not None:
        case = add_event(case, at, "sender_checked", msg.sender, f"{auth.verdict}: {auth.rule}")
        if auth.verdict == FAIL and FORGED_SENDER not in flags:
            flags.append(FORGED_SENDER)
    if work.lookalike:
        detail = f"{LIKELY_PHISHING}: sender domain imitates {work.lookalike}; never treated as staff"
        case = add_event(case, at, "flagged", "system", detail)
        if LIKELY_PHISHING not in flags:
            flags.append(LIKELY_PHISHING)
    for note in work.trust_notes:
        case = add_event(case, at, "flagged", "system", note)
    if work.trust_notes and UNAUTHENTICATED_FLAG not in flags:
        flags.append(UNAUTHENTICATED_FLAG)
    return replace(case, flags=tuple(flags))


UNAUTHENTICATED_FLAG = "unauthenticated_staff_sender"


def l1_recipients(config: Config) -> tuple[str, ...]:
    """Who hears about a suspicious sender: the first escalation level's recipients."""
    levels = config.escalation.levels
    return levels[0].recipients if levels else ()
