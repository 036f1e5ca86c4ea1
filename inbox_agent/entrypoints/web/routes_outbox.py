"""The outbox page: mail that did not go out and why; a supervisor sends failed mail again."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from inbox_agent.entrypoints.web.desks import desk_action, desk_page, desk_post
from inbox_agent.entrypoints.web.routes_cases import signed_in
from inbox_agent.entrypoints.web.security import audit_client, checked_form
from inbox_agent.services.web_actions import Actor
from inbox_agent.services.web_outbox import may_retry_mail

# An outbox id is CASE.kind.digest ("WLT-2026-000001.ack_first.7a1d81d06f62f861").
_OUTBOX_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,159}$")


async def outbox_page(request: Request, message: str = "", status: int = 200) -> Response:
    desk = request.app.state.deps.outbox
    return await desk_page(
        request,
        path="/outbox",
        template="outbox.html.j2",
        load=desk.page,
        may_act=may_retry_mail,
        message=message,
        status=status,
    )


async def retry(request: Request) -> Response:
    desk = request.app.state.deps.outbox
    post = await desk_post(request, "outbox_id", _OUTBOX_ID, "no such outbox mail")
    return await desk_action(
        request,
        path="/outbox",
        action="retry",
        item=post.item,
        call=lambda: desk.retry(post.actor, post.item, post.now, post.client),
        refused_page=lambda reason: outbox_page(request, reason, 400),
    )


async def retry_all(request: Request) -> Response:
    deps = request.app.state.deps
    session = signed_in(request)
    await checked_form(request, session)
    actor = Actor(session.user, session.role)
    client, now = audit_client(request, deps.config.web), deps.clock.now()
    return await desk_action(
        request,
        path="/outbox",
        action="retry",
        item="every failed mail",
        call=lambda: deps.outbox.retry_all(actor, now, client),
        refused_page=lambda reason: outbox_page(request, reason, 400),
    )


def outbox_routes() -> list[Route]:
    return [
        Route("/outbox", outbox_page, methods=["GET"]),
        Route("/outbox/retry-all", retry_all, methods=["POST"]),
        Route("/outbox/{outbox_id}/retry", retry, methods=["POST"]),
    ]
