"""The queue, one case, its actions and its attachments."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from inbox_agent.domain.clock import iso
from inbox_agent.domain.languages import REPLY_LANGUAGES
from inbox_agent.domain.lifecycle import SEVERITY_ORDER
from inbox_agent.domain.model import CATEGORIES, DETERMINATIONS
from inbox_agent.entrypoints.web.app import WebDeps
from inbox_agent.entrypoints.web.routes_auth import current_session, with_session_cookie
from inbox_agent.entrypoints.web.security import Refused, SignInNeeded, audit_client, checked_form
from inbox_agent.services.staff_actions import NoSuchCase
from inbox_agent.services.web_actions import WEB_ACTIONS, ActionRefused, Actor, Forbidden, NotAudited, may_act
from inbox_agent.services.web_sessions import Session
from inbox_agent.views.queue import GROUPS, SORTS, QueueQuery

log = logging.getLogger("inbox_agent.web")
_CASE_ID = re.compile(r"^[A-Z]{2,10}-\d{4}-\d{6,}$")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9._-]{1,200}$")
_PREVIEWABLE = ("image/png", "image/jpeg", "image/gif", "image/webp")


def parse_query(params: dict[str, str]) -> QueueQuery:
    """The queue's filters from the URL; a value that cannot be meant is a 400 naming it."""

    def pick(key: str, allowed: tuple[str, ...]) -> str:
        value = params.get(key, "")
        if value and value not in allowed:
            raise Refused(400, f"unknown {key} {value!r} (one of: {', '.join(allowed)})")
        return value

    def number(key: str, default: int) -> int:
        value = params.get(key, "")
        if not value:
            return default
        if not value.isdigit() or len(value) > 6:
            raise Refused(400, f"{key} must be a whole number, got {value!r}")
        return int(value)

    return QueueQuery(
        group=pick("group", tuple(key for key, _ in GROUPS)),
        category=pick("category", CATEGORIES),
        level=pick("level", ("1", "2", "3")),
        severity=pick("severity", SEVERITY_ORDER),
        assignee=params.get("assignee", "").strip()[:100],
        language=pick("language", REPLY_LANGUAGES),
        older_than_days=number("older_than_days", 0),
        needs_triage=params.get("needs_triage", "") == "1",
        regulatory_deadline=params.get("regulatory_deadline", "") == "1",
        search=params.get("q", "").strip()[:200],
        sort=pick("sort", SORTS) or "priority",
        page=max(1, number("page", 1)),
    )


def _deps(request: Request) -> WebDeps:
    deps = request.app.state.deps
    assert isinstance(deps, WebDeps)
    return deps


def signed_in(request: Request) -> Session:
    deps = _deps(request)
    session = current_session(deps, request)
    if session is None:
        raise SignInNeeded()
    return session


def case_id_of(request: Request) -> str:
    case_id = request.path_params["case_id"]
    if not _CASE_ID.match(case_id):
        raise Refused(404, f"not a case id: {case_id[:40]!r}")
    return case_id


async def queue(request: Request) -> Response:
    deps = _deps(request)
    session = signed_in(request)
    query = parse_query(dict(request.query_params))
    page = await deps.locked(deps.reads.queue, query, deps.clock.now())
    version = await deps.locked(deps.reads.version)
    quarantined = await deps.locked(deps.quarantine.count)
    failed_mail = await deps.locked(deps.outbox.failed_count)
    params = {k: v for k, v in request.query_params.items() if k != "page"}
    response = deps.render(
        "queue.html.j2",
        user=session,
        page=page,
        query=query,
        version=version,
        quarantined=quarantined,
        failed_mail=failed_mail,
        params=params,
        categories=CATEGORIES,
        severities=SEVERITY_ORDER,
        groups=GROUPS,
        sorts=SORTS,
        rows_query=str(request.url.query),
        page_link=lambda n: "/?" + urlencode({**params, "page": n}),
        poll_ms=int(deps.config.web.poll_interval * 1000),
    )
    return with_session_cookie(deps, request, response)


async def queue_rows(request: Request) -> Response:
    deps = _deps(request)
    session = signed_in(request)
    query = parse_query(dict(request.query_params))
    page = await deps.locked(deps.reads.queue, query, deps.clock.now())
    return deps.render("_queue_rows.html.j2", user=session, page=page)


async def version(request: Request) -> Response:
    deps = _deps(request)
    signed_in(request)
    return JSONResponse({"version": await deps.locked(deps.reads.version)})


async def case_page(
    request: Request, *, preview: object = None, message: str = "", status: int = 200, draft: str = ""
) -> Response:
    deps = _deps(request)
    session = signed_in(request)
    case_id = case_id_of(request)
    page = await deps.locked(deps.reads.case_page, case_id, deps.clock.now())
    if page is None:
        raise Refused(404, f"no case {case_id}")
    case = await deps.locked(deps.reads.store.get_case, case_id)
    response = deps.render(
        "case.html.j2",
        status=status,
        user=session,
        case=page,
        preview=preview,
        message=message,
        draft=draft,
        may_act=may_act(Actor(session.user, session.role), case),
        categories=CATEGORIES,
        severities=SEVERITY_ORDER,
        determinations=DETERMINATIONS,
        staff=await deps.locked(deps.directory.names),
    )
    return with_session_cookie(deps, request, response)


async def show_case(request: Request) -> Response:
    # The confirmation comes from the session, never from the URL (web_sessions.py).
    notice = _deps(request).sessions.take_notice(signed_in(request).session_id, request.url.path)
    return await case_page(request, message=notice)


async def preview(request: Request) -> Response:
    deps = _deps(request)
    session = signed_in(request)
    form = await checked_form(request, session)
    actor, text = Actor(session.user, session.role), str(form.get("text", ""))
    try:
        shown = await deps.locked(
            deps.actions.preview_reply, actor, case_id_of(request), text, deps.clock.now()
        )
    except Forbidden as exc:
        raise Refused(403, str(exc)) from exc
    except (ActionRefused, NoSuchCase) as exc:
        return await case_page(request, message=str(exc), status=400, draft=text)
    return await case_page(request, preview=shown, draft=text)


async def act(request: Request) -> Response:
    deps = _deps(request)
    session = signed_in(request)
    form = await checked_form(request, session)
    kind, case_id = request.path_params["kind"], case_id_of(request)
    if kind not in WEB_ACTIONS:
        raise Refused(404, f"no action {kind[:40]!r}")
    fields = {key: str(form.get(key, "")) for key in ("text", "assignee", "value", "redress", "digest")}
    actor = Actor(session.user, session.role)
    client = audit_client(request, deps.config.web)
    done = _DONE.get(kind, kind)
    try:
        await deps.locked(deps.actions.act, actor, case_id, kind, fields, deps.clock.now(), client)
    except NotAudited as exc:
        log.error(
            "web: %s by %s on %s is done but not in the audit log: %s", kind, actor.name, case_id, exc.cause
        )
        done = f"{done} {exc}"
    except Forbidden as exc:
        await deps.locked(
            deps.audit.record,
            {
                "at": iso(deps.clock.now()),
                "event": "action",
                "user": actor.name,
                "case": case_id,
                "action": kind,
                "outcome": "forbidden",
                "client": client,
            },
        )
        raise Refused(403, str(exc)) from exc
    except NoSuchCase as exc:
        raise Refused(404, str(exc)) from exc
    except ActionRefused as exc:
        return await case_page(request, message=str(exc), status=400, draft=fields["text"])
    deps.sessions.leave_notice(session.session_id, f"/cases/{case_id}", done)
    # "?done=<action>" only marks the page as the answer to an action; it is not shown.
    return RedirectResponse(f"/cases/{case_id}?" + urlencode({"done": kind}), status_code=303)


async def attachment(request: Request) -> Response:
    deps = _deps(request)
    signed_in(request)
    case_id, stored = case_id_of(request), request.path_params["stored"]
    if not _SAFE_NAME.match(stored):
        raise Refused(404, "no such attachment")
    found = await deps.locked(deps.reads.attachment, case_id, stored)
    if found is None:
        raise Refused(404, "no such attachment on this case")
    _name, content_type, payload = found
    inline = request.url.path.startswith(f"/cases/{case_id}/images/")
    if inline and content_type not in _PREVIEWABLE:
        raise Refused(404, "only PNG, JPEG, GIF and WebP images are previewed; download the file instead")
    headers = {
        # The stored, generated name: the customer's name is data, never a header.
        "content-disposition": f'{"inline" if inline else "attachment"}; filename="{stored}"',
        "x-content-type-options": "nosniff",
        "content-security-policy": "default-src 'none'; sandbox",
    }
    media = content_type if inline else "application/octet-stream"
    return Response(payload, media_type=media, headers=headers)


def case_routes() -> list[Route]:
    return [
        Route("/", queue, methods=["GET"]),
        Route("/queue/rows", queue_rows, methods=["GET"]),
        Route("/version", version, methods=["GET"]),
        Route("/cases/{case_id}", show_case, methods=["GET"]),
        Route("/cases/{case_id}/preview", preview, methods=["POST"]),
        Route("/cases/{case_id}/act/{kind}", act, methods=["POST"]),
        Route("/cases/{case_id}/attachments/{stored}", attachment, methods=["GET"]),
        Route("/cases/{case_id}/images/{stored}", attachment, methods=["GET"]),
    ]


_DONE = {
    "assign": "Assigned.",
    "note": "Note added.",
    "reply": "Reply queued: the daemon sends it within a cycle.",
    "resolve": "Resolved: the resolution mail is queued.",
    "reopen": "Reopened.",
    "category": "Category changed (kept as a correction for training).",
    "severity": "Severity changed.",
}
