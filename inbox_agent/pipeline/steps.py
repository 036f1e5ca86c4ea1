"""The stage objects: each decides one thing about one mail (after Mailman 3's rules).

A stage reads and fills ``MailWork`` and either returns ``None`` (go on) or a
``Decision`` (the mail's fate is settled: stop). ``run_stages`` turns any exception
into a quarantine naming the stage that failed, so one odd mail never stops the
cycle and ops can see where it broke.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from inbox_agent.config.loader import Config
from inbox_agent.domain.model import LOOP_HEADER, Categorization, ParsedMessage, Skip
from inbox_agent.mail.render import TemplateSet
from inbox_agent.pipeline.decision import BatchView, Decision, Incoming, quarantined
from inbox_agent.stages.categorize import categorize
from inbox_agent.stages.evidence import extract_evidence
from inbox_agent.stages.guard import loop_skip
from inbox_agent.stages.parse import ParseFailure, parse_message
from inbox_agent.stages.thread import ThreadMatch, find_thread


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

    def __post_init__(self) -> None:
        self.raw_sha = self.raw_sha or hashlib.sha256(self.incoming.raw).hexdigest()

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


class Guard:
    """Auto-replies, bounces, list mail and our own mail: noted, answered never."""

    name = "guard"

    def run(self, work: MailWork) -> Decision | None:
        work.skip = loop_skip(
            work.parsed,
            own_addresses=work.config.own_addresses,
            loop_header=LOOP_HEADER.lower(),
            loop_token=work.config.loop_token,
        )
        return None


class Categorize:
    name = "categorize"

    def run(self, work: MailWork) -> Decision | None:
        msg = work.parsed
        work.categorization = categorize(msg.subject, msg.new_text, work.config.rules)
        return None


class Evidence:
    name = "evidence"

    def run(self, work: MailWork) -> Decision | None:
        msg = work.parsed
        tz = ZoneInfo(work.config.sla.timezone)
        work.found = extract_evidence(
            msg.subject, msg.new_text, msg.attachments, reference=work.reference_date, tz=tz
        )
        return None


@dataclass(frozen=True)
class Thread:
    """Which case the mail belongs to. ``trust_sender``: mail in our own Sent folder
    was put there by someone holding the account, whatever its From line says."""

    name: str = "thread"
    trust_sender: bool = False

    def run(self, work: MailWork) -> Decision | None:
        is_staff = (lambda _: True) if self.trust_sender else work.config.staff.is_staff
        work.match = find_thread(
            work.parsed,
            get_case=work.view.get_case,
            message_cases=work.view.case_for_message_id(),
            is_staff=is_staff,
        )
        return None
