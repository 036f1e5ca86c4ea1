"""Sign-in state, CSRF, security headers and the client address for the web app.

- Session cookie: random id, ``HttpOnly``, ``SameSite=Strict``, ``Secure`` (and the
  ``__Host-`` prefix) unless ``[web] secure_cookies = false``, which is accepted only
  while the app listens on a loopback address (tests, a laptop).
- CSRF: every POST carries the session's token in the form (``csrf``); a missing or
  wrong token is 403 before anything else is looked at. The sign-in form, which has
  no session yet, uses a double-submit cookie.
- Headers on every answer: a strict Content-Security-Policy (scripts only from our
  own static file, no inline script or style, ``frame-ancestors 'none'``), nosniff,
  no referrer, no caching of pages with customer data.
- Identity from a reverse proxy's header only on connections from ``trusted_proxies``.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import time
from collections.abc import Awaitable, Callable

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from inbox_agent.config.web import WebSettings
from inbox_agent.services.web_sessions import Session

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}
SIGNIN_CSRF_COOKIE = "inbox-agent-signin"


class Refused(Exception):
    """Answer with this status and message (403 CSRF, 403 forbidden, 429 too many)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class SignInNeeded(Exception):
    """No session: a page sends the browser to the sign-in form, the poller gets 401."""


def cookie_name(settings: WebSettings) -> str:
    return "__Host-inbox-agent" if settings.secure_cookies else "inbox-agent-session"


def set_cookie(response: Response, settings: WebSettings, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        secure=settings.secure_cookies,
        httponly=True,
        samesite="strict",
    )


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


def from_trusted_proxy(request: Request, settings: WebSettings) -> bool:
    try:
        address = ipaddress.ip_address(client_address(request))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in settings.trusted_proxies)


def proxy_user(request: Request, settings: WebSettings) -> str:
    """The user the trusted proxy names, or "" (no header, or not from a trusted proxy)."""
    if not settings.proxy_user_header or not from_trusted_proxy(request, settings):
        return ""
    return request.headers.get(settings.proxy_user_header, "").strip()


def audit_client(request: Request, settings: WebSettings) -> str:
    """The address for the audit log: the proxy's forwarded client when it is trusted."""
    address = client_address(request)
    if from_trusted_proxy(request, settings):
        forwarded = request.headers.get("x-forwarded-for", "").split(",")[0].strip()
        return f"{forwarded} via {address}" if forwarded else address
    return address


async def checked_form(request: Request, session: Session | None) -> FormData:
    """The POSTed form, only when it carries the right CSRF token (else 403)."""
    form = await request.form()
    sent = str(form.get("csrf", "") or request.headers.get("x-csrf-token", ""))
    expected = session.csrf_token if session else request.cookies.get(SIGNIN_CSRF_COOKIE, "")
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        raise Refused(
            403, "the form's security token is missing or out of date: reload the page and try again"
        )
    return form


def new_token() -> str:
    return secrets.token_urlsafe(32)


class SecurityHeaders:
    """ASGI middleware: the headers above on every response (pages, files, errors)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k.encode(), v.encode()) for k, v in HEADERS.items() if k.encode() not in present]
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, with_headers)


class AttemptLimiter:
    """At most ``limit`` sign-in attempts per client address in ``window`` seconds (429 after)."""

    def __init__(self, limit: int = 30, window: float = 300.0) -> None:
        self.limit = limit
        self.window = window
        self._attempts: dict[str, list[float]] = {}

    def check(self, client: str, now: float | None = None) -> None:
        moment = time.monotonic() if now is None else now
        recent = [t for t in self._attempts.get(client, []) if moment - t < self.window]
        if len(recent) >= self.limit:
            self._attempts[client] = recent
            raise Refused(429, "too many sign-in attempts from this address; wait a few minutes")
        recent.append(moment)
        self._attempts[client] = recent


Handler = Callable[[Request], Awaitable[Response]]
