"""The unfiled page: mail the daemon kept on no case; a supervisor files one as a complaint."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from inbox_agent.entrypoints.web.desks import desk_action, desk_page, desk_post
from inbox_agent.entrypoints.web.security import Refused
from inbox_agent.services.web_unfiled import may_file_unfiled

# An unfiled mail's id is the first 12 hex digits of its SHA-256 (policies/unfiled.py);
# a reason code is a lower-case word.
_ENTRY_ID = re.compile(r"^[0-9a-f]{12}$")
_REASON = re.compile(r"^[a-z_]{0,40}$")


async def unfiled_page(request: Request, message: str = "", status: int = 200) -> Response:
    desk = request.app.state.deps.unfiled
    reason = request.query_params.get("reason", "")
    if not _REASON.match(reason):
        raise Refused(404, "no such reason")
    return await desk_page(
        request,
        path="/unfiled",
        template="unfiled.html.j2",
        load=lambda: desk.page(reason),
        may_act=may_file_unfiled,
        message=message,
        status=status,
    )


async def file_mail(request: Request) -> Response:
    desk = request.app.state.deps.unfiled
    post = await desk_post(request, "entry_id", _ENTRY_ID, "no such mail")
    return await desk_action(
        request,
        path="/unfiled",
        action="file",
        item=post.item,
        call=lambda: desk.file(post.actor, post.item, post.now, post.client),
        refused_page=lambda why: unfiled_page(request, why, 400),
    )


def unfiled_routes() -> list[Route]:
    return [
        Route("/unfiled", unfiled_page, methods=["GET"]),
        Route("/unfiled/{entry_id}/file", file_mail, methods=["POST"]),
    ]
