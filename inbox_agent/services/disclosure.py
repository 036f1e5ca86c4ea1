"""Looking at a case unmasked is recorded: who, when — one event, one commit.

``show`` masks personal data by default; ``show --unmask`` is allowed (staff may need
the full card number to find a payment) but never silent.
"""

from __future__ import annotations

from datetime import datetime

from inbox_agent.services.ports import CaseStore
from inbox_agent.services.unit_of_work import UnitOfWork

UNMASKED_VIEW = "viewed_unmasked"


def record_unmasked_view(store: CaseStore, case_id: str, actor: str, now: datetime, how: str) -> bool:
    """Add the event before anything is shown; False when there is no such case."""
    with UnitOfWork(store) as uow:
        if uow.case(case_id) is None:
            return False
        uow.add_event(case_id, now, UNMASKED_VIEW, actor, f"personal data shown unmasked ({how})")
        uow.commit()
    return True
