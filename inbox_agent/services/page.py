"""The staff page use case: read the cases that need showing and render the page.

Read-only: it takes no write lock and changes nothing. Writing the HTML to a file is
the caller's (an entry point, through an atomic-file adapter), so a reader never sees
a torn page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from inbox_agent.config.loader import Config
from inbox_agent.domain.model import CaseStatus
from inbox_agent.mail.render import TemplateSet
from inbox_agent.services.ports import CaseStore
from inbox_agent.views.page import (
    STAFF_LANGUAGE,
    build_page,
    render_page,
    service_timezone,
    sla_clock,
)


@dataclass(frozen=True)
class RenderedPage:
    html: str
    shown: int  # cases listed on the page


def staff_page(
    store: CaseStore,
    config: Config,
    templates: TemplateSet,
    now: datetime,
    *,
    include_resolved: bool = False,
) -> RenderedPage:
    """The page at ``now``. Resolved cases are only counted unless asked for: the
    index knows how many, so the page costs what the open cases cost, however many
    years of cases are stored."""
    cases = list(store.iter_cases(None if include_resolved else store.index.active_cases))
    shown = [case for case in cases if include_resolved or case.status != CaseStatus.RESOLVED]
    messages = {case.case_id: store.case_messages(case.case_id) for case in shown}
    page = build_page(
        cases,
        messages,
        resolved_not_read=0 if include_resolved else len(store.index.resolved_cases),
        now=now,
        clock_of=sla_clock(config, now),
        labels=templates.labels(STAFF_LANGUAGE),
        tz=service_timezone(config.sla.timezone),
        include_resolved=include_resolved,
    )
    return RenderedPage(html=render_page(templates, page), shown=page.shown)
