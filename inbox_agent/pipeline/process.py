"""The pipeline as data: the order of the stages is a tuple (after Mailman 3's
``pipelines/builtin.py``), and ``classify`` is the same tuple cut short.

Analysis first (parse, guard, categorize, evidence: what the mail says), then the
deciding stages (which case, and what to do: file, carry out a staff command, or
acknowledge the customer). ``classify`` runs the analysis part — the very stage
objects the daemon runs, with the same reference date — so what the fuzzer proves
about ``classify`` holds for the daemon.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from inbox_agent.config.loader import Config
from inbox_agent.mail.render import TemplateSet
from inbox_agent.pipeline.acknowledge import Acknowledge
from inbox_agent.pipeline.decision import BatchView, Decision, Incoming
from inbox_agent.pipeline.filing import FileAutomatic, OwnCopy, SentReply, StaffMail
from inbox_agent.pipeline.steps import (
    Authenticate,
    Categorize,
    Dedupe,
    Evidence,
    Guard,
    MailWork,
    Parse,
    Stage,
    Thread,
    run_stages,
)

EVIDENCE = Evidence()

# A mail in the complaint inbox.
INTAKE: tuple[Stage, ...] = (
    Dedupe(),
    Parse(),
    Guard(),
    Authenticate(),
    Categorize(),
    EVIDENCE,
    Thread(),
    FileAutomatic(),
    StaffMail(),
    Acknowledge(),
)

# What `inbox-agent classify` and the fuzzer run: the intake stages up to evidence.
CLASSIFY: tuple[Stage, ...] = INTAKE[: INTAKE.index(EVIDENCE) + 1]

# A mail in the complaint account's Sent folder: only people holding the account's
# credentials can put mail there, so the thread is trusted whatever the From says.
SENT: tuple[Stage, ...] = (
    Dedupe(),
    Parse(name="sent folder"),
    OwnCopy(),
    Thread(name="sent folder", trust_sender=True),
    SentReply(),
)


def process(
    incoming: Incoming, view: BatchView, config: Config, templates: TemplateSet, now: datetime
) -> Decision:
    """Decide everything about one inbox mail. Never raises: failures become quarantine."""
    return _run(INTAKE, MailWork(incoming, view, config, templates, now))


def process_sent(incoming: Incoming, view: BatchView, config: Config, now: datetime) -> Decision:
    """A mail someone sent by hand from the complaint account. Never raises."""
    return _run(SENT, MailWork(incoming, view, config, None, now))


def _run(stages: tuple[Stage, ...], work: MailWork) -> Decision:
    decision = run_stages(stages, work)
    assert decision is not None, "the last stage of a full pipeline always decides"
    if decision.outcome in ("quarantined", "duplicate") or not (work.related or work.alerts):
        return decision
    # A refused staff claim also records an event on the case it aimed at and alerts L1,
    # in the same commit as the mail itself.
    alerts = tuple(work.alerts)
    return replace(
        decision,
        related=tuple(work.related),
        outgoing=decision.outgoing + alerts,
        blobs=decision.blobs + tuple(alert.raw for alert in alerts),
    )
