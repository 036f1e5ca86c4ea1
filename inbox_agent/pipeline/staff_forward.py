"""Staff forward a customer's complaint that reached them elsewhere: it is filed under
the customer who wrote it, as if they had written to us, with who forwarded it on record.

Without this, such a forward was staff mail naming no case: kept, answered by nobody,
and never fileable (``policies/unfiled.py``), so the complaint stopped with staff.

The rules, in order:

* only staff-like mail that forwards a mail (``stages/forwarded.py``) and names no case,
  or names the forwarded mail's customer's own case (a colleague forwarding the
  customer's "Re: [WLT-…]" from their own inbox: the customer's mail joins it, and the
  colleague's "FYI" is not sent to the customer as an answer). Other staff mail on a
  case is a command or an answer (``filing.StaffMail``);
* only a proven sender, by the proof ``[trust] staff_command`` accepts that needs no
  case (``aligned``). Filing under another's address opens a case and mails them an
  acknowledgement in our name, so a forged From line must not do it; an unproven
  forward is kept on no case, its reason saying why;
* the original's sender must be a customer: an address, not staff, not the complaint
  address, and not one of the forward's own recipients (a colleague answering the
  customer with us in Cc is a conversation, not a forward).

The mail then reads as the customer's (sender, name, subject, text, language; the
original's own files added) and is categorized and searched for evidence again. It
joins the case the original is already on (the same Message-ID, or a case tag in its
subject), or opens one; the acknowledgement goes to the customer. A new case's
``received_at``, the start of the regulatory clocks, is the original's date when that
is known with its zone: the firm received the complaint then, at another address.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from inbox_agent.config.trust import ALIGNED
from inbox_agent.domain.model import LOOP_HEADER, Case, ParsedMessage, Skip
from inbox_agent.pipeline.decision import Decision
from inbox_agent.pipeline.filing import file_skipped
from inbox_agent.pipeline.staff_trust import why_unproven
from inbox_agent.pipeline.steps import Categorize, Evidence, ForwardRecord, MailWork, staff_like
from inbox_agent.stages.authentication import FAIL
from inbox_agent.stages.forwarded import Forwarded, forwarded_mail
from inbox_agent.stages.guard import loop_skip
from inbox_agent.stages.language import detect_language
from inbox_agent.stages.thread import ThreadMatch, find_thread

NOT_FILED = "staff_without_case"  # never filed (policies/unfiled.py)
UNPROVEN = "forward_unproven"  # a supervisor may file it from the unfiled mail


@dataclass(frozen=True)
class StaffForward:
    """``filer_proves``: a signed-in supervisor files the kept forward
    (services/unfiled.py, ``FILED_BY_STAFF``): they vouch for the sender our server
    could not prove. A DMARC fail is never outweighed."""

    name: str = "staff forward"
    filer_proves: bool = False

    def run(self, work: MailWork) -> Decision | None:
        if work.skip is not None or not staff_like(work):
            return None
        named = work.match.case if work.match else None
        original = forwarded_mail(work.parsed)
        if original is None or (named is not None and original.sender != named.customer):
            return None  # staff writing on a case, or naming none: filing.StaffMail
        customer_mail = as_customer_mail(work.parsed, original)
        refusal = why_not_filed(work, original, customer_mail) or self._unproven(work, original)
        if refusal is not None:
            # On a case, an unproven sender is what filing.StaffMail already refuses.
            return file_skipped(work, None, refusal) if named is None else None
        work.forward = ForwardRecord(
            work.parsed.sender, _detail(work, original), original.message_id, original.date
        )
        work.msg = customer_mail
        work.sender_auth = None  # the verdict was the staff member's, recorded in the event
        Categorize().run(work)
        Evidence().run(work)
        _join_the_originals_case(work, original, named)
        return None

    def _unproven(self, work: MailWork, original: Forwarded) -> Skip | None:
        """A sender our server did not prove: kept for a supervisor to decide, unless
        one is filing it now. A forged one (DMARC fail) is never filed."""
        auth = work.sender_auth
        if auth is not None and auth.verdict == FAIL:
            return Skip(NOT_FILED, f"a forward of {original.sender}'s mail from a forged sender: {auth.rule}")
        if _server_proven(work) or self.filer_proves:
            return None
        why = f"a forward of {original.sender}'s mail, not filed: {why_unproven(work, 'forward')}"
        return Skip(UNPROVEN, f"{why}; a supervisor may file it (`unfiled file`)")


def _server_proven(work: MailWork) -> bool:
    """Our server's aligned pass for the staff sender, when ``staff_command`` accepts it."""
    auth = work.sender_auth
    return auth is not None and auth.aligned_pass and ALIGNED in work.config.trust.staff_command


def why_not_filed(work: MailWork, original: Forwarded, customer_mail: ParsedMessage) -> Skip | None:
    """Why this forward is never filed under its original's sender; None when it may be."""
    msg, config = work.parsed, work.config
    who = original.sender
    if not original.sender:
        return Skip(NOT_FILED, f"a forward ({original.shape}) that names no sender address to file it under")
    never = _never_answered(work, customer_mail)
    if never:
        return Skip(NOT_FILED, never)
    if config.staff.is_staff(original.sender):
        return Skip(NOT_FILED, f"a forward of {who}'s mail: a colleague's, not a customer's")
    if original.sender in msg.recipients:
        return Skip(NOT_FILED, f"written to {who} as well: a conversation with the customer, not a forward")
    return None


def _never_answered(work: MailWork, customer_mail: ParsedMessage) -> str:
    """The guard's reason never to answer the original's sender (a no-reply address,
    the complaint address itself, a mail server), as a refusal; "" when none holds."""
    skip = loop_skip(
        customer_mail,
        own_addresses=work.config.own_addresses,
        loop_header=LOOP_HEADER.lower(),
        loop_token=work.config.loop_token,
    )
    if skip is None:
        return ""
    return (
        f"a forward of {customer_mail.sender}'s mail, which is never answered: {skip.reason} ({skip.detail})"
    )


def as_customer_mail(msg: ParsedMessage, original: Forwarded) -> ParsedMessage:
    """``msg`` as the customer's own mail: theirs the address, words and files."""
    return replace(
        msg,
        sender=original.sender,
        sender_name=original.sender_name,
        reply_to="",
        reply_to_name="",
        subject=original.subject or msg.subject,
        date=original.date or msg.date,
        in_reply_to=(),
        references=(),
        text=original.text,
        new_text=original.text,
        html="",
        attachments=msg.attachments + original.attachments,
        language=detect_language(f"{original.subject}\n{original.text}"),
        forwarded_by=msg.sender,
        # The guard judges the original: its headers when it came whole, else none of
        # the forward's own (a colleague's mail client's headers are not the customer's).
        headers=original.headers,
        return_path=original.return_path,
    )


def _detail(work: MailWork, original: Forwarded) -> str:
    auth = work.sender_auth
    if auth is not None and _server_proven(work):
        proof = f"{auth.rule} by {auth.authserv_id}"
    else:
        proof = "by the supervisor who filed it from the unfiled mail"
    when = f"; the original's date: {original.date_text}" if original.date_text else ""
    note = f"; their note: {original.note[:300]}" if original.note else ""
    return f"{original.shape} forwarded by {work.parsed.sender} (proven: {proof}){when}{note}"


def _join_the_originals_case(work: MailWork, original: Forwarded, named: Case | None) -> None:
    """The case the customer's mail is already on, else the case the forward named
    (its customer's: a colleague forwarding "Re: [WLT-…]" from their own inbox), else
    one the customer's subject names; none: a new case."""
    probe = replace(work.parsed, message_id=original.message_id)
    match = find_thread(
        probe,
        get_case=work.view.get_case,
        message_cases=work.view.case_for_message_id(),
        is_staff=lambda _address: False,
    )
    if named is not None and match.via != "message-id":
        match = ThreadMatch(case=named, via="forward")
    work.match = match
    if match.via == "message-id":
        work.skip = Skip("redelivered", f"{original.message_id} is already on the case")
