"""What the quarantine and outbox pages share: a list of items a supervisor decides
on, a confirmation kept in the session, and one way to turn an action's outcome into
an answer (done, refused with its reason, forbidden, done but not audited)."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from inbox_agent.entrypoints.web.routes_auth import with_session_cookie
from inbox_agent.entrypoints.web.routes_cases import signed_in
from inbox_agent.entrypoints.web.security import Refused, audit_client, checked_form
from inbox_agent.services.web_actions import ActionRefused, Actor, Forbidden, NotAudited

log = logging.getLogger("inbox_agent.web")


async def desk_page(
    request: Request,
    *,
    path: str,
    template: str,
    load: Callable[[], Any],
    may_act: Callable[[Actor], bool],
    message: str = "",
    status: int = 200,
) -> Response:
    """The page at ``path``: ``load()`` under the store lock, rendered with the
    session's confirmation (never one from the URL: web_sessions.py)."""
    deps = request.app.state.deps
    session = signed_in(request)
    page = await deps.locked(load)
    response = deps.render(
        template,
        status=status,
        user=session,
        page=page,
        message=message or deps.sessions.take_notice(session.session_id, path),
        failed=status >= 400,
        may_act=may_act(Actor(session.user, session.role)),
    )
    return with_session_cookie(deps, request, response)


async def desk_action(
    request: Request,
    *,
    path: str,
    action: str,
    item: str,
    call: Callable[[], str],
    refused_page: Callable[[str], Awaitable[Response]],
) -> Response:
    """Run ``call`` under the store lock; back to ``path`` with what happened."""
    deps = request.app.state.deps
    session = signed_in(request)
    try:
        done = await deps.locked(call)
    except NotAudited as exc:
        log.error(
            "web: %s of %s by %s is done but not in the audit log: %s", action, item, session.user, exc.cause
        )
        done = f"{action.capitalize()} of {item}: {exc}"
    except Forbidden as exc:
        raise Refused(403, str(exc)) from exc
    except ActionRefused as exc:
        return await refused_page(str(exc))
    deps.sessions.leave_notice(session.session_id, path, done)
    return RedirectResponse(f"{path}?done={action}", status_code=303)


@dataclass(frozen=True)
class DeskPost:
    """A supervisor's decision as posted: who, from where, when, on which item."""

    actor: Actor
    client: str
    now: datetime
    item: str
    form: Any


async def desk_post(request: Request, param: str, pattern: re.Pattern[str], unknown: str) -> DeskPost:
    """The checked form of a decision on the item named by the path parameter
    ``param``; an item that cannot be one (``pattern``) is a 404 saying ``unknown``."""
    deps = request.app.state.deps
    session = signed_in(request)
    form = await checked_form(request, session)
    item = request.path_params[param]
    if not pattern.match(item):
        raise Refused(404, unknown)
    return DeskPost(
        Actor(session.user, session.role),
        audit_client(request, deps.config.web),
        deps.clock.now(),
        item,
        form,
    )
