"""A small TCP proxy on 127.0.0.1 that puts IMAP faults between a client and Dovecot.

The real server keeps answering; the proxy decides what reaches the client. A fault
is armed for the next ``times`` connections and every later connection passes
through untouched, which is how "the next cycle reconnects" is checked.

Faults (``Fault``):

- ``silent_at_connect``: the TCP connection is accepted, the server is never reached,
  so no greeting ever arrives.
- ``silent_after_login``: LOGIN goes through and is answered; from the next command
  on nothing is forwarded in either direction.
- ``silent_during_fetch``: the ``BODY.PEEK[]`` FETCH is forwarded and the first
  ``allowed_bytes`` of the answer reach the client, then the line stays open but quiet.
- ``cut_mid_fetch``: like ``silent_during_fetch``, but the connection is closed after
  ``allowed_bytes`` (a reset in the middle of a literal).
- ``silent_during_idle``: IDLE is entered normally; the ``DONE`` that ends it, and
  everything after, is swallowed, so the server never seems to answer.

Plain sockets and threads, no pytest import, so bench scripts can use it too.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from dataclasses import dataclass, field
from typing import Literal

Fault = Literal[
    "none",
    "silent_at_connect",
    "silent_after_login",
    "silent_during_fetch",
    "cut_mid_fetch",
    "silent_during_idle",
]

_FETCH_BODY = re.compile(rb"UID FETCH .*BODY\.PEEK\[\]", re.IGNORECASE)
_LOGIN = re.compile(rb"^\S+ (LOGIN|AUTHENTICATE) ", re.IGNORECASE | re.MULTILINE)
_DONE = re.compile(rb"^DONE\r?$", re.IGNORECASE | re.MULTILINE)
_CHUNK = 65536


@dataclass
class _Link:
    """One proxied connection and how far its fault has progressed."""

    client: socket.socket
    fault: Fault
    allowed_bytes: int
    upstream: socket.socket | None = None
    login_seen: bool = False
    silent: bool = False  # nothing is forwarded any more, in either direction
    budget: int | None = None  # server bytes still to forward before the fault strikes
    lock: threading.Lock = field(default_factory=threading.Lock)

    def close(self) -> None:
        for sock in (self.client, self.upstream):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    sock.close()


class TcpProxy:
    """``TcpProxy(host, port).start()``; connect clients to ``proxy.port``."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.host, self.port = self._listener.getsockname()[:2]
        self._fault: Fault = "none"
        self._fault_times = 0
        self._allowed_bytes = 0
        self._links: list[_Link] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self.connections = 0
        self.faults_struck = 0

    # -- control --------------------------------------------------------------

    def start(self) -> TcpProxy:
        threading.Thread(target=self._accept_forever, name="tcpproxy-accept", daemon=True).start()
        return self

    def arm(self, fault: Fault, *, times: int = 1, allowed_bytes: int = 300) -> None:
        """The next ``times`` connections get ``fault``; later ones pass through."""
        with self._lock:
            self._fault, self._fault_times, self._allowed_bytes = fault, times, allowed_bytes

    def stop(self) -> None:
        self._stopped.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            links, self._links = self._links, []
        for link in links:
            link.close()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- internals ------------------------------------------------------------

    def _next_fault(self) -> Fault:
        with self._lock:
            self.connections += 1
            if self._fault_times <= 0:
                return "none"
            self._fault_times -= 1
            return self._fault

    def _accept_forever(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            link = _Link(client=client, fault=self._next_fault(), allowed_bytes=self._allowed_bytes)
            with self._lock:
                self._links.append(link)
            if link.fault == "silent_at_connect":
                self.faults_struck += 1
                continue  # the socket stays open and mute until stop()
            try:
                link.upstream = socket.create_connection(self.target, timeout=5)
                link.upstream.settimeout(None)
            except OSError:
                link.close()
                continue
            threading.Thread(target=self._client_to_server, args=(link,), daemon=True).start()
            threading.Thread(target=self._server_to_client, args=(link,), daemon=True).start()

    def _client_to_server(self, link: _Link) -> None:
        assert link.upstream is not None
        while True:
            try:
                data = link.client.recv(_CHUNK)
            except OSError:
                return
            if not data:
                with contextlib.suppress(OSError):
                    link.upstream.shutdown(socket.SHUT_WR)
                return
            with link.lock:
                forward = self._on_client_data(link, data)
            if forward:
                try:
                    link.upstream.sendall(forward)
                except OSError:
                    return

    def _on_client_data(self, link: _Link, data: bytes) -> bytes:
        """What of the client's bytes reaches the server; arms the fault when its command passes."""
        if link.silent:
            return b""
        if link.fault == "silent_after_login":
            if link.login_seen:
                self._strike(link)
                return b""
            link.login_seen = bool(_LOGIN.search(data))
        elif link.fault in ("silent_during_fetch", "cut_mid_fetch") and _FETCH_BODY.search(data):
            if link.budget is None:
                link.budget = link.allowed_bytes
        elif link.fault == "silent_during_idle" and _DONE.search(data):
            self._strike(link)
            return b""
        return data

    def _strike(self, link: _Link) -> None:
        link.silent = True
        self.faults_struck += 1

    def _server_to_client(self, link: _Link) -> None:
        assert link.upstream is not None
        while True:
            try:
                data = link.upstream.recv(_CHUNK)
            except OSError:
                return
            if not data:
                with contextlib.suppress(OSError):
                    link.client.shutdown(socket.SHUT_WR)
                return
            with link.lock:
                forward, cut = self._on_server_data(link, data)
            try:
                if forward:
                    link.client.sendall(forward)
            except OSError:
                return
            if cut:
                link.close()
                return

    def _on_server_data(self, link: _Link, data: bytes) -> tuple[bytes, bool]:
        """(bytes to forward, close the connection now)."""
        if link.silent:
            return b"", False
        if link.budget is None:
            return data, False
        forward, link.budget = data[: link.budget], link.budget - len(data)
        if link.budget > 0:
            return forward, False
        if link.fault == "cut_mid_fetch":
            self.faults_struck += 1
            return forward, True
        self._strike(link)
        return forward, False
