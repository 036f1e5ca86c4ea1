"""Mail kept on no case that staff decide is a customer's complaint after all.

The guard keeps auto-replies and list mail on no case and answers them never; a
customer whose mail client marks every mail "Auto-Submitted", or who writes through a
mailing list, would never reach a case. Staff find such mail with `inbox-agent
unfiled` (or the web app's Unfiled page) and file it: the mail runs through the intake
again with the guard's machine-mail reasons overruled (``pipeline.process.FILED_BY_STAFF``),
is filed and answered as new mail, and leaves the unfiled records, all in one commit
(after the quarantine's retry, services/quarantine.py). The case records who filed it.

Never for mail nobody can answer or that must not be answered: a bounce, our own mail,
a loop, mail with no sender, staff mail. Mail from a no-reply address is filed only
when it can now be told whose it is (a web form named in ``[trust] form_relays``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from inbox_agent.config.loader import Config
from inbox_agent.domain.clock import iso, parse_iso
from inbox_agent.domain.lifecycle import add_event
from inbox_agent.domain.model import MessageRecord
from inbox_agent.mail.render import TemplateSet
from inbox_agent.pipeline.decision import Decision, Incoming
from inbox_agent.pipeline.process import process_filed_by_staff
from inbox_agent.policies.unfiled import unfiled_id, why_not_fileable
from inbox_agent.services.filing import file_decision
from inbox_agent.services.intake import batch_view
from inbox_agent.services.ports import CaseStore
from inbox_agent.services.unit_of_work import UnitOfWork

FILED_BY_STAFF = "filed_by_staff"  # the event on the case
_NO_REPLY_HINT = (
    "mail from a no-reply address has nobody to answer; if a web form sent it, name the form "
    "in [trust] form_relays and file it again"
)


class FileRefused(Exception):
    """No such mail, its bytes are gone, or it is mail that is never answered."""


def file_as_complaint(
    store: CaseStore, config: Config, templates: TemplateSet, entry_id: str, actor: str, now: datetime
) -> Decision:
    """File the unfiled mail ``entry_id`` as a complaint: a new case (or its customer's
    open one), answered as new mail; the decision, as the intake made it."""
    with UnitOfWork(store) as uow:
        message = _fileable(store, entry_id)
        view = batch_view(store)
        view.known_hashes = set(view.known_hashes) - {message.raw_sha256}
        incoming = Incoming(
            store.get_blob(message.raw_sha256), message.source, parse_iso(message.received_at)
        )
        decision = process_filed_by_staff(incoming, view, config, templates, now)
        if decision.outcome not in ("new_case", "joined") or decision.case is None:
            no_reply = decision.skip is not None and decision.skip.reason == "no_reply"
            raise FileRefused(_NO_REPLY_HINT if no_reply else f"it would not be filed: {decision.summary}")
        detail = f"kept on no case as {message.skip}; filed as a complaint by {actor}"
        decision = replace(decision, case=add_event(decision.case, iso(now), FILED_BY_STAFF, actor, detail))
        file_decision(uow, decision, now)
        uow.changes.unfiled_removed.append(message)
        uow.changes.next_case_seq = view.next_seq
        uow.commit()
    return decision


def _fileable(store: CaseStore, entry_id: str) -> MessageRecord:
    found = [m for m in store.unfiled_messages() if m.direction == "in" and unfiled_id(m) == entry_id]
    if not found:
        raise FileRefused(f"no mail filed under no case has the id {entry_id!r} (see `inbox-agent unfiled`)")
    why_not = why_not_fileable(found[0])
    if why_not:
        raise FileRefused(why_not)
    return found[0]
