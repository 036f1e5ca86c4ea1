"""The quarantine page: what the daemon could not process; a supervisor retries or drops it."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from inbox_agent.entrypoints.web.desks import desk_action, desk_page
from inbox_agent.entrypoints.web.routes_cases import signed_in
from inbox_agent.entrypoints.web.security import Refused, audit_client, checked_form
from inbox_agent.services.web_actions import Actor
from inbox_agent.services.web_quarantine import may_handle_quarantine

# An entry id is the first 12 hex digits of the mail's SHA-256 (services/filing.py).
_ENTRY_ID = re.compile(r"^[0-9a-f]{12}$")


async def quarantine_page(request: Request, message: str = "", status: int = 200) -> Response:
    desk = request.app.state.deps.quarantine
    return await desk_page(
        request,
        path="/quarantine",
        template="quarantine.html.j2",
        load=desk.page,
        may_act=may_handle_quarantine,
        message=message,
        status=status,
    )


async def handle(request: Request) -> Response:
    deps = request.app.state.deps
    session = signed_in(request)
    form = await checked_form(request, session)
    action, entry_id = request.path_params["action"], request.path_params["entry_id"]
    if action not in ("retry", "drop") or not _ENTRY_ID.match(entry_id):
        raise Refused(404, "no such quarantine action")
    actor = Actor(session.user, session.role)
    client, now = audit_client(request, deps.config.web), deps.clock.now()
    reason = str(form.get("reason", ""))[:500]

    def call() -> str:
        if action == "retry":
            return deps.quarantine.retry(actor, entry_id, now, client)
        return deps.quarantine.drop(actor, entry_id, reason, now, client)

    return await desk_action(
        request,
        path="/quarantine",
        action=action,
        item=entry_id,
        call=call,
        refused_page=lambda why: quarantine_page(request, why, 400),
    )


def quarantine_routes() -> list[Route]:
    return [
        Route("/quarantine", quarantine_page, methods=["GET"]),
        Route("/quarantine/{entry_id}/{action}", handle, methods=["POST"]),
    ]
