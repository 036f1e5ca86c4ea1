"""Staff actions from the CLI and the web app: one case, one action, one commit. Staff mail goes through the intake pipeline, which applies the very same
``policies.staff`` commands inside the intake batch's unit of work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from inbox_agent.config.loader import Config
from inbox_agent.domain.clock import iso
from inbox_agent.domain.model import Case
from inbox_agent.mail.render import TemplateSet
from inbox_agent.policies.staff import StaffAction, StaffActionError, apply_action
from inbox_agent.services.ports import CaseStore
from inbox_agent.services.unit_of_work import UnitOfWork


class NoSuchCase(Exception):
    pass


@dataclass(frozen=True)
class ActionResult:
    case: Case
    queued: int  # mails put in the outbox for the customer


def act_on_case(
    store: CaseStore,
    config: Config,
    templates: TemplateSet,
    case_id: str,
    action: StaffAction,
    now: datetime,
    *,
    door: str = "cli",
) -> ActionResult:
    """Apply ``action`` to the case and queue the mail it sends, in one commit.

    Raises NoSuchCase, or StaffActionError when the action does not fit the case
    (resolving a resolved case, an empty reply). ``door`` ("cli", "web") is part of
    the cause the outgoing mail's id is derived from."""
    with UnitOfWork(store) as uow:
        case = uow.case(case_id)
        if case is None:
            raise NoSuchCase(f"no case {case_id}")
        updated, outgoing = apply_action(
            case,
            action,
            config=config,
            templates=templates,
            now=now,
            cause=f"{door}|{action.kind}|{iso(now)}|{action.actor}|{action.text}|{action.value}",
        )
        uow.put_case(updated)
        for mail in outgoing:
            uow.queue_mail(mail, now)
        uow.commit()
    return ActionResult(case=updated, queued=len(outgoing))


__all__ = ["ActionResult", "NoSuchCase", "StaffAction", "StaffActionError", "act_on_case"]
