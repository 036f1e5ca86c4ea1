"""The quarantine page: what the daemon could not process; a supervisor retries or drops it."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from inbox_agent.entrypoints.web.routes_auth import with_session_cookie
from inbox_agent.entrypoints.web.routes_cases import signed_in
from inbox_agent.entrypoints.web.security import Refused, audit_client, checked_form
from inbox_agent.services.web_actions import ActionRefused, Actor, Forbidden, NotAudited
from inbox_agent.services.web_quarantine import may_handle_quarantine

log = logging.getLogger("inbox_agent.web")
# An entry id is the first 12 hex digits of the mail's SHA-256 (services/filing.py).
_ENTRY_ID = re.compile(r"^[0-9a-f]{12}$")


async def quarantine_page(request: Request, *, message: str = "", status: int = 200) -> Response:
    deps = request.app.state.deps
    session = signed_in(request)
    page = await deps.locked(deps.quarantine.page)
    response = deps.render(
        "quarantine.html.j2",
        status=status,
        user=session,
        page=page,
        # The confirmation comes from the session, never from the URL (web_sessions.py).
        message=message or deps.sessions.take_notice(session.session_id, "/quarantine"),
        failed=status >= 400,
        may_act=may_handle_quarantine(Actor(session.user, session.role)),
    )
    return with_session_cookie(deps, request, response)


async def handle(request: Request) -> Response:
    deps = request.app.state.deps
    session = signed_in(request)
    form = await checked_form(request, session)
    action, entry_id = request.path_params["action"], request.path_params["entry_id"]
    if action not in ("retry", "drop") or not _ENTRY_ID.match(entry_id):
        raise Refused(404, "no such quarantine action")
    actor = Actor(session.user, session.role)
    client = audit_client(request, deps.config.web)
    now = deps.clock.now()
    try:
        if action == "retry":
            done = await deps.locked(deps.quarantine.retry, actor, entry_id, now, client)
        else:
            reason = str(form.get("reason", ""))[:500]
            done = await deps.locked(deps.quarantine.drop, actor, entry_id, reason, now, client)
    except NotAudited as exc:
        log.error(
            "web: %s of %s by %s is done but not in the audit log: %s",
            action,
            entry_id,
            actor.name,
            exc.cause,
        )
        done = f"{action.capitalize()} of {entry_id}: {exc}"
    except Forbidden as exc:
        raise Refused(403, str(exc)) from exc
    except ActionRefused as exc:
        return await quarantine_page(request, message=str(exc), status=400)
    deps.sessions.leave_notice(session.session_id, "/quarantine", done)
    return RedirectResponse("/quarantine?" + urlencode({"done": action}), status_code=303)


def quarantine_routes() -> list[Route]:
    return [
        Route("/quarantine", quarantine_page, methods=["GET"]),
        Route("/quarantine/{entry_id}/{action}", handle, methods=["POST"]),
    ]
