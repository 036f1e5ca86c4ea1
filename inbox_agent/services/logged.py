"""Staff log a complaint that reached the firm by phone, letter, in a branch, ...:
the complaint becomes a case in one commit, as a mail's does (policies/logged.py says
how it is kept and checked; ``pipeline.process.LOGGED`` decides)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from inbox_agent.config.loader import Config
from inbox_agent.domain.clock import iso
from inbox_agent.domain.lifecycle import add_event
from inbox_agent.mail.render import TemplateSet
from inbox_agent.pipeline.decision import Decision, Incoming
from inbox_agent.pipeline.process import process_logged
from inbox_agent.policies.logged import LoggedComplaint, logged_mail, why_not_loggable
from inbox_agent.services.filing import file_decision
from inbox_agent.services.intake import batch_view
from inbox_agent.services.ports import CaseStore
from inbox_agent.services.unit_of_work import UnitOfWork

LOGGED = "logged_by_staff"  # the event on the case: who logged it, from which channel


class LogRefused(Exception):
    """The complaint as entered cannot be a case; the message says why."""


def log_complaint(
    store: CaseStore,
    config: Config,
    templates: TemplateSet,
    complaint: LoggedComplaint,
    actor: str,
    now: datetime,
) -> Decision:
    """Open (or join) the customer's case for ``complaint``; the decision, as the intake
    made it. The same complaint logged again (the same token) changes nothing and
    returns the decision ``duplicate``."""
    why = why_not_loggable(complaint, config, now)
    if why:
        raise LogRefused(why)
    raw = logged_mail(complaint, mailbox=config.mailbox.address, message_id_domain=config.message_id_domain)
    with UnitOfWork(store) as uow:
        view = batch_view(store)
        incoming = Incoming(raw, f"logged:{complaint.channel}", min(complaint.received_at, now))
        decision = process_logged(incoming, view, config, templates, now, answer=complaint.acknowledge)
        if decision.outcome == "duplicate" or (decision.skip and decision.skip.reason == "redelivered"):
            # The same token again, as sent (a form posted twice) or edited since: the
            # complaint is on record already and nothing is written.
            return Decision(outcome="duplicate", note=f"logged already (token {complaint.token})")
        if decision.outcome not in ("new_case", "joined") or decision.case is None:
            raise LogRefused(f"it would not be filed: {decision.summary}")
        detail = f"{complaint.channel} complaint logged by {actor}; the customer complained at {iso(incoming.received_at)}"
        if not complaint.acknowledge:
            detail += "; no acknowledgement mailed, as staff chose"
        decision = replace(decision, case=add_event(decision.case, iso(now), LOGGED, actor, detail))
        file_decision(uow, decision, now)
        uow.changes.next_case_seq = view.next_seq
        uow.commit()
    return decision
