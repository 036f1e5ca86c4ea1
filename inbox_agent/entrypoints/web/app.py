"""The Starlette application of the staff web app, and how it is served.

Starlette (with uvicorn) because it is small and well kept, async with server-sent
events and streaming built in, ships a ``TestClient``, and adds no ORM, form library
or session store we would have to fit around our own store, unit of work and CSRF.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any, TypeVar

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from inbox_agent.adapters.sealed import StoreError
from inbox_agent.config.loader import Config
from inbox_agent.domain.clock import Clock
from inbox_agent.domain.languages import REPLY_LANGUAGES, language_name
from inbox_agent.entrypoints.failures import describe
from inbox_agent.entrypoints.web.security import AttemptLimiter, Refused, SecurityHeaders, SignInNeeded
from inbox_agent.services.web_actions import WebActions
from inbox_agent.services.web_new_complaint import NewComplaintDesk
from inbox_agent.services.web_outbox import OutboxDesk
from inbox_agent.services.web_ports import AuditLog, StaffDirectory
from inbox_agent.services.web_quarantine import QuarantineDesk
from inbox_agent.services.web_queue import WebReads
from inbox_agent.services.web_sessions import Sessions
from inbox_agent.services.web_unfiled import UnfiledDesk

T = TypeVar("T")
log = logging.getLogger("inbox_agent.web")


@dataclass
class WebDeps:
    """What the routes use; built by ``entrypoints.bootstrap.build_web``."""

    config: Config
    reads: WebReads
    actions: WebActions
    directory: StaffDirectory
    audit: AuditLog
    clock: Clock
    quarantine: QuarantineDesk
    outbox: OutboxDesk
    unfiled: UnfiledDesk
    new_complaint: NewComplaintDesk
    sessions: Sessions = field(init=False)
    limiter: AttemptLimiter = field(default_factory=AttemptLimiter)
    # One store access at a time in this process: the store's caches and its re-entrant
    # write lock are per process, not per thread.
    store_lock: threading.Lock = field(default_factory=threading.Lock)
    pages: jinja2.Environment = field(init=False)

    def __post_init__(self) -> None:
        settings = self.config.web
        self.sessions = Sessions(settings.session_lifetime, settings.idle_timeout)
        folder = files("inbox_agent.entrypoints.web").joinpath("templates")
        self.pages = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(folder)),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        # Staff read a case's language as a word ("Chinese (Traditional)"), not a tag.
        self.pages.globals.update(language_name=language_name, reply_languages=REPLY_LANGUAGES)

    async def locked(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        def call() -> T:
            with self.store_lock:
                return function(*args, **kwargs)

        return await run_in_threadpool(call)

    def render(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(self.pages.get_template(name).render(**context), status_code=status)


def create_app(deps: WebDeps) -> Starlette:
    from inbox_agent.entrypoints.web.routes_auth import auth_routes
    from inbox_agent.entrypoints.web.routes_cases import case_routes
    from inbox_agent.entrypoints.web.routes_new import new_complaint_routes
    from inbox_agent.entrypoints.web.routes_outbox import outbox_routes
    from inbox_agent.entrypoints.web.routes_quarantine import quarantine_routes
    from inbox_agent.entrypoints.web.routes_unfiled import unfiled_routes

    static = files("inbox_agent.entrypoints.web").joinpath("static")
    routes = [
        *auth_routes(),
        *case_routes(),
        *quarantine_routes(),
        *unfiled_routes(),
        *new_complaint_routes(),
        *outbox_routes(),
        Mount("/static", app=StaticFiles(directory=str(static)), name="static"),
    ]
    handlers = {
        Refused: _refused(deps),
        SignInNeeded: _sign_in,
        StoreError: _failed(deps),
        OSError: _failed(deps),
    }
    app = Starlette(routes=routes, exception_handlers=handlers)
    app.state.deps = deps
    return SecurityHeaders(app)  # type: ignore[return-value]


def _refused(deps: WebDeps) -> Callable[[Request, Exception], Any]:
    async def handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refused)
        return deps.render("error.html.j2", status=exc.status, message=str(exc), user=None)

    return handler


def _failed(deps: WebDeps) -> Callable[[Request, Exception], Any]:
    """A damaged or locked store, a full disk: the page names the cause as the CLI does
    (entrypoints/failures.py), never a bare "Internal Server Error"."""

    async def handler(request: Request, exc: Exception) -> Response:
        failure = describe(exc)
        # An unforeseen I/O error may be a bug: its traceback goes to the log as well.
        trace = None if failure.expected else exc
        log.error("web: %s %s: %s", request.method, request.url.path, failure.text, exc_info=trace)
        return deps.render("error.html.j2", status=503, message=failure.text, user=None)

    return handler


async def _sign_in(request: Request, exc: Exception) -> Response:
    if request.url.path in ("/version", "/queue/rows"):
        return JSONResponse({"error": "signed out"}, status_code=401)
    return RedirectResponse("/signin", status_code=303)


def serve(deps: WebDeps, host: str, port: int) -> None:
    """Run until SIGTERM/SIGINT (uvicorn's own handlers finish open requests first)."""
    import uvicorn

    # The client address must be the connection's: a trusted proxy's header is checked
    # against it, so uvicorn must not replace it from X-Forwarded-For.
    uvicorn.run(
        create_app(deps), host=host, port=port, proxy_headers=False, log_level="info", access_log=False
    )


def monotonic() -> float:
    return time.monotonic()


__all__ = ["WebDeps", "create_app", "serve"]
