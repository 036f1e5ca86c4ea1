"""The new-complaint page: a complaint taken by phone, letter, in a branch, ... logged
as a case (services/web_new_complaint.py)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from inbox_agent.entrypoints.web.routes_auth import with_session_cookie
from inbox_agent.entrypoints.web.routes_cases import signed_in
from inbox_agent.entrypoints.web.security import audit_client, checked_form
from inbox_agent.services.web_actions import ActionRefused, Actor, NotAudited
from inbox_agent.services.web_new_complaint import FIELDS

log = logging.getLogger("inbox_agent.web")


async def new_complaint_page(
    request: Request, entered: Mapping[str, str] | None = None, message: str = "", status: int = 200
) -> Response:
    deps = request.app.state.deps
    session = signed_in(request)
    form = deps.new_complaint.form(deps.clock.now(), entered)
    response = deps.render(
        "new_complaint.html.j2",
        status=status,
        user=session,
        form=form,
        message=message or deps.sessions.take_notice(session.session_id, "/new"),
        failed=status >= 400,
    )
    return with_session_cookie(deps, request, response)


async def log_new_complaint(request: Request) -> Response:
    deps = request.app.state.deps
    session = signed_in(request)
    form = await checked_form(request, session)
    fields = {name: str(form.get(name, "")) for name in FIELDS}
    actor = Actor(session.user, session.role)
    client = audit_client(request, deps.config.web)
    try:
        logged = await deps.locked(deps.new_complaint.log, actor, fields, deps.clock.now(), client)
    except ActionRefused as exc:
        return await new_complaint_page(request, fields, str(exc), 400)
    except NotAudited as exc:
        log.error("web: a complaint logged by %s is not in the audit log: %s", actor.name, exc.cause)
        deps.sessions.leave_notice(session.session_id, "/", f"Complaint logged; {exc}")
        return RedirectResponse("/?done=new", status_code=303)
    if not logged.case_id:
        notice = "This complaint was logged already (the form was sent twice): nothing changed."
        deps.sessions.leave_notice(session.session_id, "/new", notice)
        return RedirectResponse("/new?done=again", status_code=303)
    path = f"/cases/{logged.case_id}"
    deps.sessions.leave_notice(session.session_id, path, f"Complaint logged: {logged.summary}.")
    return RedirectResponse(f"{path}?done=new", status_code=303)


def new_complaint_routes() -> list[Route]:
    return [
        Route("/new", new_complaint_page, methods=["GET"]),
        Route("/new", log_new_complaint, methods=["POST"]),
    ]
