"""Signed-in sessions of the web app, kept in the web process's memory.

A session id is 32 random bytes (``secrets``) in an HttpOnly cookie; the CSRF token is
another 32 random bytes bound to the session and required on every POST. Sessions end
after ``session_lifetime``, after ``idle_timeout`` without a request, at sign-out, or
at the first request after the account was removed or its password or role changed
(``staff_auth.still_granted``). Restarting the web app signs everyone out (nothing about a session is written down).

A session also carries the one-line notice an action leaves for the page it redirects
to ("Note added."). It travels here, never in the URL: a page that printed a text from
its query string would let any link a customer mails to staff put words of the
attacker's choosing in the app's own confirmation banner.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Session:
    session_id: str
    user: str
    role: str
    csrf_token: str
    grant: str  # staff_auth.grant_of the account at sign-in: a new password or role ends it
    started: float  # monotonic seconds
    last_seen: float


class Sessions:
    def __init__(self, lifetime: float, idle_timeout: float) -> None:
        self.lifetime = lifetime
        self.idle_timeout = idle_timeout
        self._sessions: dict[str, Session] = {}
        self._notices: dict[str, tuple[str, str]] = {}  # session id -> (page, text)
        self._lock = threading.Lock()

    def start(self, user: str, role: str, grant: str, now: float) -> Session:
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        session = Session(token, user, role, csrf, grant, now, now)
        with self._lock:
            self._sessions[session.session_id] = session
        return session

    def get(self, session_id: str, now: float) -> Session | None:
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            if now - session.started > self.lifetime or now - session.last_seen > self.idle_timeout:
                del self._sessions[session_id]
                self._notices.pop(session_id, None)
                return None
            session = replace(session, last_seen=now)
            self._sessions[session_id] = session
            return session

    def leave_notice(self, session_id: str, page: str, text: str) -> None:
        """Keep ``text`` for the next time this session shows ``page`` (the last one wins)."""
        with self._lock:
            if session_id in self._sessions:
                self._notices[session_id] = (page, text)

    def take_notice(self, session_id: str, page: str) -> str:
        """The notice left for ``page``, once; "" when there is none. A notice left for
        another page (an action in a second tab) is not shown here."""
        with self._lock:
            left = self._notices.get(session_id)
            if left is None or left[0] != page:
                return ""
            del self._notices[session_id]
            return left[1]

    def end(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)
            self._notices.pop(session_id, None)
