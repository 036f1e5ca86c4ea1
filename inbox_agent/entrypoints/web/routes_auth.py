"""Sign-in and sign-out, and the session every other page needs."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from inbox_agent.domain.clock import iso
from inbox_agent.entrypoints.web.app import WebDeps, monotonic
from inbox_agent.entrypoints.web.security import (
    SIGNIN_CSRF_COOKIE,
    audit_client,
    checked_form,
    client_address,
    cookie_name,
    new_token,
    proxy_user,
    set_cookie,
)
from inbox_agent.services.staff_auth import SignInRefused, grant_of, proxy_account, sign_in, still_granted
from inbox_agent.services.web_sessions import Session


def current_session(deps: WebDeps, request: Request) -> Session | None:
    """The signed-in session, or one started for the user a trusted proxy names."""
    settings = deps.config.web
    session = deps.sessions.get(request.cookies.get(cookie_name(settings), ""), monotonic())
    if session is not None and not still_granted(deps.directory, session.user, session.grant):
        deps.sessions.end(session.session_id)
        entry = {"at": iso(deps.clock.now()), "event": "session_ended", "user": session.user}
        reason = "the account was removed, or its password or role changed"
        deps.audit.record({**entry, "reason": reason, "client": audit_client(request, settings)})
        session = None
    named = proxy_user(request, settings)
    if named and (session is None or session.user != named):
        try:
            account = proxy_account(
                deps.directory, deps.audit, named, deps.clock.now(), audit_client(request, settings)
            )
        except SignInRefused:
            return None
        session = deps.sessions.start(account.name, account.role, grant_of(account), monotonic())
        request.state.new_session = session
    return session


def with_session_cookie(deps: WebDeps, request: Request, response: Response) -> Response:
    """Set the cookie of a session started during this request (proxy identity)."""
    started = getattr(request.state, "new_session", None)
    if started is not None:
        set_cookie(
            response,
            deps.config.web,
            cookie_name(deps.config.web),
            started.session_id,
            int(deps.sessions.lifetime),
        )
    return response


def _deps(request: Request) -> WebDeps:
    deps = request.app.state.deps
    assert isinstance(deps, WebDeps)
    return deps


async def signin_form(request: Request, message: str = "", status: int = 200) -> Response:
    deps = _deps(request)
    token = new_token()
    response = deps.render("signin.html.j2", status=status, csrf=token, message=message, user=None)
    set_cookie(response, deps.config.web, SIGNIN_CSRF_COOKIE, token, 3600)
    return response


async def signin_page(request: Request) -> Response:
    if current_session(_deps(request), request) is not None:
        return RedirectResponse("/", status_code=303)
    return await signin_form(request)


async def signin(request: Request) -> Response:
    deps = _deps(request)
    settings = deps.config.web
    form = await checked_form(request, None)
    deps.limiter.check(client_address(request))
    name, password = str(form.get("name", "")).strip(), str(form.get("password", ""))
    client = audit_client(request, settings)
    try:
        account = await deps.locked(
            sign_in, deps.directory, deps.audit, settings, name, password, deps.clock.now(), client
        )
    except SignInRefused as exc:
        await asyncio.sleep(settings.throttle)  # each wrong guess costs the guesser time
        return await signin_form(request, str(exc), status=401)
    session = deps.sessions.start(account.name, account.role, grant_of(account), monotonic())
    response = RedirectResponse("/", status_code=303)
    set_cookie(response, settings, cookie_name(settings), session.session_id, int(settings.session_lifetime))
    response.delete_cookie(SIGNIN_CSRF_COOKIE, path="/")
    return response


async def signout(request: Request) -> Response:
    deps = _deps(request)
    settings = deps.config.web
    session = current_session(deps, request)
    if session is not None:
        await checked_form(request, session)
        deps.sessions.end(session.session_id)
        entry = {"at": iso(deps.clock.now()), "event": "sign_out", "user": session.user}
        await deps.locked(deps.audit.record, {**entry, "client": audit_client(request, settings)})
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(cookie_name(settings), path="/")
    return response


def auth_routes() -> list[Route]:
    return [
        Route("/signin", signin_page, methods=["GET"]),
        Route("/signin", signin, methods=["POST"]),
        Route("/signout", signout, methods=["POST"]),
    ]
