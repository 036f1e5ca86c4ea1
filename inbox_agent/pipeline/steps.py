"""The stage objects: each decides one thing about one mail (after Mailman 3's rules).

A stage reads and fills ``MailWork`` and either returns ``None`` (go on) or a
``Decision`` (the mail's fate is settled: stop). ``run_stages`` turns any exception
into a quarantine naming the stage that failed, so one odd mail never stops the
cycle and ops can see where it broke.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from inbox_agent.config.loader import Config
from inbox_agent.domain.model import LOOP_HEADER, Case, Categorization, OutgoingMail, ParsedMessage, Skip
from inbox_agent.mail.render import TemplateSet
from inbox_agent.pipeline.decision import BatchView, Decision, Incoming, quarantined
from inbox_agent.stages.authentication import FAIL, SenderAuth, authenticate, domain_of
from inbox_agent.stages.categorize import categorize
from inbox_agent.stages.evidence import Amount, extract_evidence, find_amounts
from inbox_agent.stages.form_relay import from_form_relay
from inbox_agent.stages.guard import loop_skip
from inbox_agent.stages.lookalike import lookalike_of
from inbox_agent.stages.parse import ParseFailure, parse_message
from inbox_agent.stages.thread import ThreadMatch, find_thread


@dataclass(frozen=True)
class ForwardRecord:
    """A customer's mail staff forwarded to us, for the case's ``forwarded`` event."""

    by: str  # the staff member's address
    detail: str  # how it was forwarded and proven, and the original's date as written
    original_message_id: str  # "" for an inline forward
    original_date: datetime | None  # when the customer sent it, when known with its zone


@dataclass
class MailWork:
    """What the stages know about one mail so far."""

    incoming: Incoming
    view: BatchView
    config: Config
    templates: TemplateSet | None  # None where nothing is rendered (classify)
    now: datetime
    raw_sha: str = ""
    msg: ParsedMessage | None = None
    skip: Skip | None = None
    categorization: Categorization | None = None
    found: dict[str, str] = field(default_factory=dict)
    match: ThreadMatch | None = None
    sender_auth: SenderAuth | None = None
    lookalike: str = ""  # the domain of ours the sender's domain imitates ("" = none)
    trust_notes: list[str] = field(default_factory=list)  # recorded on the mail's own case
    related: list[Case] = field(default_factory=list)  # other cases this mail changes (an event)
    alerts: list[OutgoingMail] = field(default_factory=list)  # staff alerts queued with the mail
    forward: ForwardRecord | None = None  # staff forwarded the customer's mail (staff_forward.py)
    amounts: tuple[Amount, ...] | None = None  # the money amounts of subject and text, once read
    _salt: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        self.raw_sha = self.raw_sha or self.incoming.raw_sha256

    @property
    def salt(self) -> str:
        """Makes the Message-IDs of alerts unguessable (policies/notified.py). Random, not
        derived: an alert is queued in the same commit as the mail, so a crash before the
        commit redoes both and one after it never reaches this mail again. Drawn on first
        use: few mails queue an alert, so most never need one."""
        if not self._salt:
            self._salt = secrets.token_hex(16)
        return self._salt

    @property
    def parsed(self) -> ParsedMessage:
        assert self.msg is not None, "a stage after parse needs the parsed message"
        return self.msg

    @property
    def reference_date(self) -> datetime:
        """Relative dates in the text ("yesterday") count from the mail's Date, else receipt."""
        return self.parsed.date or self.incoming.received_at


class Stage(Protocol):
    @property
    def name(self) -> str:
        """What a quarantine reports as the failing stage."""
        ...

    def run(self, work: MailWork) -> Decision | None: ...


def run_stages(stages: Sequence[Stage], work: MailWork) -> Decision | None:
    """Run ``stages`` in order until one settles the mail; None when none did."""
    for stage in stages:
        try:
            decision = stage.run(work)
        except Exception as exc:  # a crashing stage must not stop the mailbox
            return quarantined(work.incoming.raw, stage.name, f"{type(exc).__name__}: {exc}")
        if decision is not None:
            return decision
    return None


class Dedupe:
    """The same bytes twice (a crash before the mailbox was marked, a UIDVALIDITY
    change, a re-delivery) are one message. The same Message-ID with other content
    is a different message and is kept."""

    name = "dedupe"

    def run(self, work: MailWork) -> Decision | None:
        return Decision(outcome="duplicate") if work.view.is_known(work.raw_sha) else None


@dataclass(frozen=True)
class Parse:
    name: str = "parse"

    def run(self, work: MailWork) -> Decision | None:
        try:
            work.msg = parse_message(work.incoming.raw, received_at=work.incoming.received_at)
        except ParseFailure as failure:
            return quarantined(work.incoming.raw, self.name, failure.reason)
        return None


@dataclass(frozen=True)
class FormRelay:
    """A complaint a web form relayed is the customer's (stages/form_relay.py); one
    from a relay that names no customer is quarantined, to be read by staff."""

    name: str = "form relay"

    def run(self, work: MailWork) -> Decision | None:
        config = work.config
        found = from_form_relay(work.parsed, config.trust.is_form_relay, config.own_addresses)
        if isinstance(found, str):
            return quarantined(work.incoming.raw, self.name, found)
        if found is not None:
            work.msg = found
        return None


@dataclass(frozen=True)
class Guard:
    """Auto-replies, bounces, list mail and our own mail: noted, answered never.
    ``overruled``: reasons staff decided do not hold for this mail (services/unfiled.py)."""

    name: str = "guard"
    overruled: frozenset[str] = frozenset()

    def run(self, work: MailWork) -> Decision | None:
        skip = loop_skip(
            work.parsed,
            own_addresses=work.config.own_addresses,
            loop_header=LOOP_HEADER.lower(),
            loop_token=work.config.loop_token,
        )
        work.skip = None if skip is not None and skip.reason in self.overruled else skip
        return None


class Authenticate:
    """Who the sender is: our own server's Authentication-Results for the From domain,
    and whether that domain imitates one of ours (stages/authentication.py, lookalike.py)."""

    name = "authenticate"

    def run(self, work: MailWork) -> Decision | None:
        trust, msg = work.config.trust, work.parsed
        if msg.relayed_by:
            # Our server vouches at most for the relay; the customer's address is typed.
            relay = authenticate(
                replace(msg, sender=msg.relayed_by), trust.authserv_ids, trust.results_headers
            )
            work.sender_auth = replace(relay, rule=f"form relay {msg.relayed_by}: {relay.rule}")
        else:
            work.sender_auth = authenticate(msg, trust.authserv_ids, trust.results_headers)
        work.lookalike = lookalike_of(domain_of(msg.sender), protected_domains(work.config)) or ""
        return None


def protected_domains(config: Config) -> frozenset[str]:
    """Our own domains: the complaint address's, the staff domains and addresses', and
    ``[trust] protected_domains``."""
    staff = config.staff
    return frozenset(
        {domain_of(config.mailbox.address), *staff.domains, *(domain_of(a) for a in staff.addresses)}
        | config.trust.protected_domains
    ) - {""}


def staff_like(work: MailWork) -> bool:
    """The From line claims staff (a look-alike domain never does); whether the claim is
    proven is up to the action (pipeline/staff_trust.py). An address typed into a web
    form never does, nor the customer's address of a mail staff forwarded."""
    msg = work.parsed
    if work.lookalike or msg.relayed_by or msg.forwarded_by:
        return False
    return work.config.staff.is_staff(msg.sender)


class Categorize:
    name = "categorize"

    def run(self, work: MailWork) -> Decision | None:
        msg = work.parsed
        # Read once for both: the severity (a large amount) and the evidence stage.
        work.amounts = find_amounts(msg.subject, msg.new_text)
        work.categorization = categorize(msg.subject, msg.new_text, work.config.rules, work.amounts)
        return None


class Evidence:
    name = "evidence"

    def run(self, work: MailWork) -> Decision | None:
        msg = work.parsed
        tz = ZoneInfo(work.config.sla.timezone)
        work.found = extract_evidence(
            msg.subject,
            msg.new_text,
            msg.attachments,
            reference=work.reference_date,
            tz=tz,
            amounts=work.amounts,
        )
        return None


@dataclass(frozen=True)
class Thread:
    """Which case the mail belongs to. ``trust_sender``: mail in our own Sent folder
    was put there by someone holding the account, whatever its From line says."""

    name: str = "thread"
    trust_sender: bool = False

    def run(self, work: MailWork) -> Decision | None:
        claims_staff = staff_like(work)
        is_staff = (lambda _: True) if self.trust_sender else (lambda _: claims_staff)
        # DMARC says the From line is forged: the mail never joins its "own" case.
        forged = not self.trust_sender and work.sender_auth is not None and work.sender_auth.verdict == FAIL
        work.match = find_thread(
            work.parsed,
            get_case=work.view.get_case,
            message_cases=work.view.case_for_message_id(),
            is_staff=is_staff,
            customer_may_join=not forged,
        )
        if work.match.via == "message-id" and work.skip is None and not self.trust_sender:
            # The same mail a second time (sent to us and to an alias that forwards here,
            # a server's retry): kept on the case, but it neither reopens the case, nor
            # restarts its clock, nor is answered or acted on (a staff reply sent twice).
            work.skip = Skip("redelivered", f"{work.parsed.message_id} is already on the case")
        return None
