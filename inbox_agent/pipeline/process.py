"""The pipeline as data: the order of the stages is a tuple (after Mailman 3's
``pipelines/builtin.py``), and ``classify`` is the same tuple cut short.

Analysis first (parse, guard, categorize, evidence: what the mail says), then the
deciding stages (which case, and what to do: file, carry out a staff command, or
acknowledge the customer). ``classify`` runs the analysis part — the very stage
objects the daemon runs, with the same reference date — so what the fuzzer proves
about ``classify`` holds for the daemon.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from inbox_agent.config.loader import Config
from inbox_agent.domain.model import Categorization, ParsedMessage, Skip
from inbox_agent.mail.render import TemplateSet
from inbox_agent.pipeline.acknowledge import Acknowledge
from inbox_agent.pipeline.decision import BatchView, Decision, Incoming
from inbox_agent.pipeline.filing import FileAutomatic, OwnCopy, SentReply, StaffMail
from inbox_agent.pipeline.staff_forward import StaffForward
from inbox_agent.pipeline.steps import (
    Authenticate,
    Categorize,
    Dedupe,
    Evidence,
    FormRelay,
    Guard,
    MailWork,
    Parse,
    Stage,
    Thread,
    run_stages,
)
from inbox_agent.stages.authentication import SenderAuth

EVIDENCE = Evidence()

# A mail in the complaint inbox.
INTAKE: tuple[Stage, ...] = (
    Dedupe(),
    Parse(),
    FormRelay(),
    Guard(),
    Authenticate(),
    Categorize(),
    EVIDENCE,
    Thread(),
    StaffForward(),
    FileAutomatic(),
    StaffMail(),
    Acknowledge(),
)

# What `inbox-agent classify` and the fuzzer run: the intake stages up to evidence.
CLASSIFY: tuple[Stage, ...] = INTAKE[: INTAKE.index(EVIDENCE) + 1]

# The pure part of CLASSIFY: what the mail says, from its bytes and the config alone
# (no store), so it may run in another process ahead of the deciding stages
# (services/analysis_pool.py). DECIDING is the rest of INTAKE.
ANALYSIS: tuple[Stage, ...] = CLASSIFY[1:]
DECIDING: tuple[Stage, ...] = INTAKE[len(CLASSIFY) :]

# Mail the guard kept on no case that staff decided is a customer's complaint after all
# (services/unfiled.py): INTAKE with the guard's machine-mail reasons overruled. Loops,
# bounces, our own mail and mail with no sender are never answered, whoever asks.
STAFF_OVERRULES = frozenset({"auto_reply", "list"})
# A staff forward our server could not prove is filed too: the supervisor filing it
# vouches for its sender (pipeline/staff_forward.py).
FILED_BY_STAFF: tuple[Stage, ...] = tuple(
    Guard(overruled=STAFF_OVERRULES)
    if isinstance(stage, Guard)
    else StaffForward(filer_proves=True)
    if isinstance(stage, StaffForward)
    else stage
    for stage in INTAKE
)

# A complaint staff logged by hand (policies/logged.py): what the customer said, typed
# in by staff, is never machine mail, staff mail or a web form's; the guard still
# keeps a no-reply or our own address from being answered.
LOGGED: tuple[Stage, ...] = (
    Dedupe(),
    Parse(name="logged complaint"),
    Guard(),
    Categorize(),
    EVIDENCE,
    Thread(),
    FileAutomatic(),
    Acknowledge(logged=True),
)
LOGGED_UNANSWERED: tuple[Stage, ...] = (*LOGGED[:-1], Acknowledge(logged=True, answer=False))

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


@dataclass(frozen=True)
class Analysis:
    """What the ANALYSIS stages found about one mail: small enough to send between
    processes. ``stopped``: the stage that quarantined the mail, if one did."""

    stopped: Decision | None
    msg: ParsedMessage | None = None
    skip: Skip | None = None
    sender_auth: SenderAuth | None = None
    lookalike: str = ""
    categorization: Categorization | None = None
    found: dict[str, str] = field(default_factory=dict)


def analyse(incoming: Incoming, config: Config, now: datetime) -> Analysis:
    """The ANALYSIS stages on one mail. Never raises: a failing stage is ``stopped``."""
    work = MailWork(incoming, BatchView.empty(), config, None, now)
    return _analysis(run_stages(ANALYSIS, work), work)


def analyse_many(incomings: Sequence[Incoming], config: Config, now: datetime) -> list[Analysis]:
    """``analyse`` on every mail, run stage by stage over the mails instead of mail by
    mail: the same results (a stage reads nothing but its own mail and the config),
    while each stage's tables, the category model's above all, are still in the CPU
    cache from the mail before. On the benchmark corpus, in slices of 50 as the pool
    gets them: 1.75 -> 1.53 ms per mail."""
    works = [MailWork(incoming, BatchView.empty(), config, None, now) for incoming in incomings]
    stopped: list[Decision | None] = [None] * len(works)
    for stage in ANALYSIS:
        for index, work in enumerate(works):
            if stopped[index] is None:  # a mail a stage settled goes no further, as in run_stages
                stopped[index] = run_stages((stage,), work)
    return [_analysis(stop, work) for stop, work in zip(stopped, works, strict=True)]


def _analysis(stopped: Decision | None, work: MailWork) -> Analysis:
    return Analysis(
        stopped, work.msg, work.skip, work.sender_auth, work.lookalike, work.categorization, work.found
    )


def process_analysed(
    incoming: Incoming,
    analysis: Analysis,
    view: BatchView,
    config: Config,
    templates: TemplateSet,
    now: datetime,
) -> Decision:
    """``process`` with the analysis already done (``analyse``, possibly elsewhere): the
    same decision, because the analysis stages read nothing but the mail and the config."""
    work = MailWork(incoming, view, config, templates, now)
    stopped = run_stages(INTAKE[:1], work) or analysis.stopped  # a duplicate first, as in INTAKE
    if stopped is not None:
        return stopped
    work.msg, work.skip, work.sender_auth = analysis.msg, analysis.skip, analysis.sender_auth
    work.lookalike, work.categorization, work.found = (
        analysis.lookalike,
        analysis.categorization,
        analysis.found,
    )
    return _run(DECIDING, work)


def process_filed_by_staff(
    incoming: Incoming, view: BatchView, config: Config, templates: TemplateSet, now: datetime
) -> Decision:
    """``process`` for a kept mail staff file as a complaint. Never raises."""
    return _run(FILED_BY_STAFF, MailWork(incoming, view, config, templates, now))


def process_logged(
    incoming: Incoming,
    view: BatchView,
    config: Config,
    templates: TemplateSet,
    now: datetime,
    *,
    answer: bool,
) -> Decision:
    """A complaint staff logged by hand; ``answer``: acknowledge it by mail. Never raises."""
    stages = LOGGED if answer else LOGGED_UNANSWERED
    return _run(stages, MailWork(incoming, view, config, templates, now))


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
