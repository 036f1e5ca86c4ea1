"""The quarantine page: what the daemon could not process; a supervisor retries or drops it."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from inbox_agent.entrypoints.web.desks import desk_action, desk_page, desk_post
from inbox_agent.entrypoints.web.security import Refused
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
    desk = request.app.state.deps.quarantine
    action = request.path_params["action"]
    post = await desk_post(request, "entry_id", _ENTRY_ID, "no such quarantine action")
    if action not in ("retry", "drop"):
        raise Refused(404, "no such quarantine action")
    reason = str(post.form.get("reason", ""))[:500]

    def call() -> str:
        if action == "retry":
            return desk.retry(post.actor, post.item, post.now, post.client)
        return desk.drop(post.actor, post.item, reason, post.now, post.client)

    return await desk_action(
        request,
        path="/quarantine",
        action=action,
        item=post.item,
        call=call,
        refused_page=lambda why: quarantine_page(request, why, 400),
    )


def quarantine_routes() -> list[Route]:
    return [
        Route("/quarantine", quarantine_page, methods=["GET"]),
        Route("/quarantine/{entry_id}/{action}", handle, methods=["POST"]),
    ]
