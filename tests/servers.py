"""Throw-away real servers for tests and bench scripts: Dovecot IMAP and aiosmtpd SMTP.

Nothing here is mocked: ``DovecotServer`` runs the real ``dovecot`` binary with a
private config in a temp dir, ``SmtpServer`` runs aiosmtpd in a thread. Both are
plain classes (no pytest import) so ``bench/`` scripts can use them too; the
pytest fixtures live in ``tests/conftest.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from imapclient import IMAPClient

LOCALHOST = "127.0.0.1"

# Debian installs the binaries in /usr/sbin, which is not on every PATH.
_SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")


def free_port() -> int:
    """A TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float, *, alive: Process | None = None) -> None:
    """Block until something accepts TCP connections on host:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None and alive.poll() is not None:
            raise RuntimeError(f"server process exited with code {alive.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:g}s")


Process = subprocess.Popen  # type alias, keeps the signature above readable


def find_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for folder in _SBIN_DIRS:
        candidate = Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def dovecot_missing_reason() -> str | None:
    """None when Dovecot can be started here, otherwise why not (for skip/fail messages)."""
    if find_binary("dovecot") is None or find_binary("doveadm") is None:
        return "Dovecot is not installed (Debian: apt-get install dovecot-imapd)"
    if os.geteuid() != 0:
        return "the throw-away Dovecot needs root (it drops privileges to the dovecot user)"
    return None


def dovecot_required() -> bool:
    """In CI a missing Dovecot is an error, on a developer machine only a skip."""
    ci = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}
    return ci or os.environ.get("INBOX_AGENT_REQUIRE_DOVECOT", "").strip() == "1"


# --------------------------------------------------------------------------- TLS


@dataclass(frozen=True)
class SelfSignedCertificate:
    """A self-signed certificate for 127.0.0.1/localhost; ``cert_file`` doubles as the CA file."""

    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_certificate(folder: Path) -> SelfSignedCertificate:
    """Create a self-signed certificate with the openssl CLI (no extra Python package)."""
    openssl = find_binary("openssl")
    if openssl is None:
        raise RuntimeError("openssl is not installed; it is needed to create a test certificate")
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
        + ["-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return SelfSignedCertificate(cert_file=cert, key_file=key)


# --------------------------------------------------------------------------- Dovecot

_DOVECOT_CONFIG = """\
protocols = imap
listen = {host}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
auth_verbose = yes
# Tests provoke failed logins on purpose; the default 2 s penalty only slows them down.
auth_failure_delay = 0
{ssl_block}
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
first_valid_uid = 1
first_valid_gid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={root}/mail/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    address = {host}
    port = {port}
  }}
  inet_listener imaps {{
    address = {host}
    port = {tls_port}
  }}
  chroot =
}}
service anvil {{
  chroot =
  # No brute-force penalty: after a deliberate failed login the next test's login
  # would otherwise wait 2-15 s (doc.dovecot.org, "Authentication penalty").
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
{extra}
"""


class DovecotServer:
    """A real Dovecot on 127.0.0.1 with one user, ``agent`` / ``secret``.

    ``extra_config`` is appended to the generated dovecot.conf, e.g.
    ``imap_capability = IMAP4rev1 UIDPLUS`` to imitate a server without MOVE or IDLE.
    With ``certificate`` the server offers STARTTLS on ``port`` and implicit TLS on
    ``tls_port``.
    """

    def __init__(
        self,
        *,
        extra_config: str = "",
        certificate: SelfSignedCertificate | None = None,
        user: str = "agent",
        password: str = "secret",
        start_timeout: float = 10.0,
    ) -> None:
        self.host = LOCALHOST
        self.user = user
        self.password = password
        self.certificate = certificate
        self.extra_config = extra_config
        self.start_timeout = start_timeout
        self.root = Path(tempfile.mkdtemp(prefix="inbox-agent-dovecot-"))
        self.port = free_port()
        self.tls_port = free_port() if certificate else 0
        self.config_path = self.root / "dovecot.conf"
        self.log_path = self.root / "dovecot.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._prepare_files()

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> DovecotServer:
        if self._process is not None:
            return self
        dovecot = find_binary("dovecot")
        if dovecot is None:
            raise RuntimeError(dovecot_missing_reason() or "dovecot not found")
        # -F keeps the master in the foreground: we own its pid and can always reap it.
        self._process = subprocess.Popen(
            [dovecot, "-F", "-c", str(self.config_path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            wait_for_port(self.host, self.port, self.start_timeout, alive=self._process)
            self._wait_until_imap_greets()
        except Exception as error:
            self._stop_process()
            raise RuntimeError(f"Dovecot did not start: {error}\n{self.log_tail()}") from error
        return self

    def stop(self) -> None:
        """Stop the server (mail stays on disk, ``start()`` brings it back)."""
        self._stop_process()

    def restart(self) -> None:
        self.stop()
        self.start()

    def destroy(self) -> None:
        """Stop and delete every file of this server."""
        self._stop_process()
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The master process (every Dovecot process of this server runs below it)."""
        return self._process.pid if self.running and self._process is not None else None

    def __enter__(self) -> DovecotServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.destroy()

    # -- helpers for tests ---------------------------------------------------

    @contextlib.contextmanager
    def client(self, folder: str | None = None) -> Iterator[IMAPClient]:
        """A logged-in IMAPClient (plain connection), logged out afterwards."""
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        try:
            client.login(self.user, self.password)
            if folder is not None:
                client.select_folder(folder)
            yield client
        finally:
            with contextlib.suppress(Exception):
                client.logout()

    def append(
        self,
        raw: bytes,
        folder: str = "INBOX",
        flags: Sequence[str | bytes] = (),
        msg_time: datetime | None = None,
    ) -> int:
        """APPEND one message; returns its UID (from the APPENDUID answer)."""
        with self.client() as client:
            self._ensure_folder(client, folder)
            answer = client.append(folder, raw, flags=tuple(flags), msg_time=msg_time)
        return _appended_uid(answer)

    def append_many(self, raws: Sequence[bytes], folder: str = "INBOX") -> list[int]:
        """APPEND several messages over one connection (much faster than ``append`` in a loop)."""
        with self.client() as client:
            self._ensure_folder(client, folder)
            return [_appended_uid(client.append(folder, raw)) for raw in raws]

    def create_folder(self, folder: str) -> None:
        with self.client() as client:
            self._ensure_folder(client, folder)

    def recreate_mailbox(self, folder: str = "INBOX") -> int:
        """Delete and re-create ``folder`` so the server hands out a new UIDVALIDITY.

        IMAP refuses to DELETE INBOX, so for INBOX the messages are expunged and the
        UIDVALIDITY is bumped with doveadm: what a client sees after a mailbox rebuild.
        Returns the new UIDVALIDITY.
        """
        with self.client() as client:
            if folder.upper() == "INBOX":
                old = int(client.folder_status(folder, ["UIDVALIDITY"])[b"UIDVALIDITY"])
                client.select_folder(folder)
                client.delete_messages(client.search("ALL"))
                client.expunge()
                client.close_folder()
                self.doveadm("mailbox", "update", "-u", self.user, "--uid-validity", str(old + 1), folder)
            else:
                if client.folder_exists(folder):
                    client.delete_folder(folder)
                client.create_folder(folder)
            return int(client.folder_status(folder, ["UIDVALIDITY"])[b"UIDVALIDITY"])

    def flags(self, uid: int, folder: str = "INBOX") -> set[bytes]:
        """The flags of one message, read without changing anything."""
        with self.client() as client:
            client.select_folder(folder, readonly=True)
            return set(client.get_flags([uid]).get(uid, ()))

    def uids(self, folder: str = "INBOX") -> list[int]:
        with self.client() as client:
            client.select_folder(folder, readonly=True)
            return sorted(client.search("ALL"))

    def reset(self, timeout: float = 5.0) -> None:
        """Empty the user's whole mail store (all folders, fresh UIDVALIDITY) on the running server.

        Sessions still open (an IDLE left by a failed test) are kicked first, so no
        Dovecot process writes into the store while it is being removed.
        """
        with contextlib.suppress(RuntimeError):
            self.doveadm("kick", self.user)
        deadline = time.monotonic() + timeout
        while self._sessions_open() and time.monotonic() < deadline:
            time.sleep(0.05)
        mail_home = self.root / "mail" / self.user
        shutil.rmtree(mail_home, ignore_errors=True)
        mail_home.mkdir(parents=True)
        shutil.chown(mail_home, "dovecot", "dovecot")

    def _sessions_open(self) -> bool:
        try:
            return self.user in self.doveadm("who", "-1")
        except RuntimeError:
            return False

    def doveadm(self, *args: str) -> str:
        doveadm = find_binary("doveadm") or "doveadm"
        done = subprocess.run(
            [doveadm, "-c", str(self.config_path), *args], capture_output=True, text=True, timeout=30
        )
        if done.returncode != 0:
            raise RuntimeError(f"doveadm {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no Dovecot log)"
        return "Dovecot log (last lines):\n" + "\n".join(text.splitlines()[-lines:])

    # -- internals -----------------------------------------------------------

    def _prepare_files(self) -> None:
        # Login processes run as dovenull and must reach base_dir inside our temp dir.
        self.root.chmod(0o755)
        (self.root / "passwd").write_text(f"{self.user}:{{PLAIN}}{self.password}\n")
        mail_home = self.root / "mail" / self.user
        mail_home.mkdir(parents=True)
        for path in (self.root / "mail", mail_home):
            shutil.chown(path, "dovecot", "dovecot")
        if self.certificate:
            ssl_block = (
                f"ssl = yes\nssl_cert = <{self.certificate.cert_file}\nssl_key = <{self.certificate.key_file}"
            )
        else:
            ssl_block = "ssl = no"
        self.config_path.write_text(
            _DOVECOT_CONFIG.format(
                host=self.host,
                root=self.root,
                port=self.port,
                tls_port=self.tls_port,
                ssl_block=ssl_block,
                extra=self.extra_config,
            )
        )

    @staticmethod
    def _ensure_folder(client: IMAPClient, folder: str) -> None:
        if not client.folder_exists(folder):
            client.create_folder(folder)

    def _wait_until_imap_greets(self) -> None:
        """The port opens before the login process is ready; wait for a real greeting."""
        deadline = time.monotonic() + self.start_timeout
        while True:
            try:
                with socket.create_connection((self.host, self.port), timeout=2) as sock:
                    if sock.recv(200).startswith(b"* OK"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("no IMAP greeting")
            time.sleep(0.05)

    def _stop_process(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        children = _child_pids(process.pid)
        if process.poll() is None:
            # Open sessions hold the master for ~5 s on shutdown; kicking them first makes
            # stop() take ~1 s. Clients see what a real shutdown shows them: the connection drops.
            with contextlib.suppress(Exception):
                self.doveadm("kick", self.user)
            # doveadm stop is run alongside rather than awaited: it polls slowly and
            # would triple the stop time, while the master's own exit is what counts.
            stopper = subprocess.Popen(
                [find_binary("doveadm") or "doveadm", "-c", str(self.config_path), "stop"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
            try:
                stopper.wait(timeout=5)
            except subprocess.TimeoutExpired:
                stopper.kill()
                stopper.wait()
        if process.stderr is not None:
            process.stderr.close()
        _reap(children)


def _appended_uid(answer: bytes) -> int:
    match = re.search(rb"APPENDUID \d+ (\d+)", answer)
    if match is None:
        raise RuntimeError(f"server did not report the APPENDUID: {answer!r}")
    return int(match.group(1))


def _child_pids(parent: int) -> list[int]:
    """Direct children of ``parent`` (Dovecot's auth, log, config, imap... processes)."""
    children = []
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            children.append(int(status.parent.name))
    return children


def _reap(pids: list[int], timeout: float = 5.0) -> None:
    """Make sure the processes we started are gone; SIGKILL the stragglers by pid."""
    deadline = time.monotonic() + timeout
    remaining = list(pids)
    while remaining and time.monotonic() < deadline:
        remaining = [pid for pid in remaining if Path(f"/proc/{pid}").exists() and not _is_zombie(pid)]
        if remaining:
            time.sleep(0.05)
    for pid in remaining:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


# --------------------------------------------------------------------------- SMTP

FaultMode = Literal["none", "451", "550"]


@dataclass(frozen=True)
class ReceivedMail:
    """One message the SMTP server accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    connection: int  # sequence number of the TCP connection it came in on (1, 2, ...)
    login: str | None  # the AUTH user, None when the client did not log in


class _RecordingHandler:
    """aiosmtpd handler: records what it accepts and can be told to fail."""

    def __init__(self, owner: SmtpServer) -> None:
        self._owner = owner

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        """Offer PIPELINING when asked to (aiosmtpd reads pipelined commands in order
        anyway; it just does not say so)."""
        session.host_name = hostname
        if self._owner.pipelining:
            responses.insert(len(responses) - 1, "250-PIPELINING")
        return responses

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address == self._owner.refuse_recipient:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        limit = self._owner.max_messages_per_connection
        if limit is not None and self._owner.accepted_on(server) >= limit:
            # What a real MTA does when a client exceeds its per-connection limit.
            # The reply is written before this callback runs; close() flushes it first.
            asyncio.get_running_loop().call_soon(server.transport.close)
            return "421 4.7.0 Too many messages on this connection, closing"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        fault = self._owner.fault
        if fault == "451":
            return "451 4.3.0 Temporary failure, try again later"
        if fault == "550":
            return "550 5.7.1 Message rejected by policy"
        self._owner._record(server, envelope, session)
        return "250 2.0.0 OK queued"


class _CountingSMTP(SMTP):
    """Numbers each client session so tests can check how many connections were used.

    A session is counted at its first HELO/EHLO, not at connect: aiosmtpd's own
    readiness probe connects without greeting and must not count.
    """

    def __init__(self, owner: SmtpServer, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._owner = owner
        self.connection_number = 0

    def _count_session(self) -> None:
        if self.connection_number == 0:
            self.connection_number = self._owner._next_connection()

    async def _handle_client(self) -> None:
        """``sessions_at_once``: a connection over the limit is greeted 421 and closed,
        as Postfix does past ``smtpd_client_connection_count_limit``."""
        if self._over_the_limit:
            await self.push("421 4.7.0 Error: too many connections from 127.0.0.1")
            self.transport.close()  # type: ignore[union-attr]
            return
        await super()._handle_client()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Counted and judged as it arrives, before its greeting: connections that
        # arrive together are not all refused for each other.
        open_now, limit = self._owner._connection_opened(), self._owner.sessions_at_once
        self._over_the_limit = limit is not None and open_now > limit
        super().connection_made(transport)

    async def smtp_HELO(self, hostname: str) -> None:
        self._count_session()
        await super().smtp_HELO(hostname)

    async def smtp_EHLO(self, hostname: str) -> None:
        self._count_session()
        await super().smtp_EHLO(hostname)

    def connection_lost(self, error: Exception | None) -> None:
        self._owner._connection_closed()
        super().connection_lost(error)


class _Controller(Controller):
    def __init__(self, owner: SmtpServer, **kwargs: object) -> None:
        self._owner = owner
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def factory(self) -> SMTP:
        # AUTH without TLS is deliberate here (tests on 127.0.0.1); keep aiosmtpd from
        # warning about it on every connection.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
            return _CountingSMTP(self._owner, self.handler, **self.SMTP_kwargs)


class SmtpServer:
    """A real aiosmtpd server in a background thread that keeps what it receives.

    AUTH PLAIN/LOGIN with ``user``/``password`` is offered (without TLS, for tests).
    ``fault`` switches DATA answers to 451 or 550; ``max_messages_per_connection``
    makes the server answer 421 and hang up, as MTAs with a per-connection limit
    do; ``stop()``/``start()`` simulate an outage on the same port. With
    ``certificate`` the server offers STARTTLS (``tls="starttls"``) or speaks
    implicit TLS (``tls="implicit"``).
    """

    def __init__(
        self,
        *,
        user: str = "mailer",
        password: str = "smtp-secret",
        auth_required: bool = False,
        certificate: SelfSignedCertificate | None = None,
        tls: Literal["none", "starttls", "implicit"] = "none",
        pipelining: bool = False,
    ) -> None:
        self.host = LOCALHOST
        self.pipelining = pipelining  # offer PIPELINING (RFC 2920) in the EHLO answer
        self.refuse_recipient = ""  # RCPT TO this address is answered 550
        self.port = free_port()
        self.user = user
        self.password = password
        self.auth_required = auth_required
        self.certificate = certificate
        self.tls = tls
        self.fault: FaultMode = "none"
        self.max_messages_per_connection: int | None = None
        self.sessions_at_once: int | None = None  # more connections at once are greeted 421
        self._open = 0
        self.most_at_once = 0  # the most connections open at the same time (since clear())
        self._lock = threading.Lock()
        self._received: list[ReceivedMail] = []
        self._connections = 0
        self._accepted_per_connection: dict[int, int] = {}
        self._controller: _Controller | None = None

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> SmtpServer:
        if self._controller is not None:
            return self
        kwargs: dict[str, object] = {
            "handler": _RecordingHandler(self),
            "hostname": self.host,
            "port": self.port,
            "authenticator": self._authenticate,
            "auth_require_tls": False,
            "auth_required": self.auth_required,
            "ready_timeout": 10.0,
        }
        if self.certificate and self.tls == "starttls":
            kwargs["tls_context"] = self.certificate.server_context()
            kwargs["require_starttls"] = True
        elif self.certificate and self.tls == "implicit":
            kwargs["ssl_context"] = self.certificate.server_context()
        controller = _Controller(self, **kwargs)
        controller.start()
        self._controller = controller
        return self

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    @property
    def running(self) -> bool:
        return self._controller is not None

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- what tests read -----------------------------------------------------

    @property
    def received(self) -> list[ReceivedMail]:
        with self._lock:
            return list(self._received)

    @property
    def connections(self) -> int:
        """Client sessions (connections that said HELO/EHLO) so far."""
        with self._lock:
            return self._connections

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
        """Wait until at least ``count`` messages arrived; returns them (raises on timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            received = self.received
            if len(received) >= count:
                return received
            if time.monotonic() > deadline:
                raise TimeoutError(f"expected {count} messages, got {len(received)} after {timeout:g}s")
            time.sleep(0.01)

    def clear(self) -> None:
        with self._lock:
            self._received.clear()
            self._connections = 0
            self._accepted_per_connection.clear()
            self.most_at_once = self._open

    # -- called from the server thread -----------------------------------------

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: object
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = auth_data.login.decode() == self.user and auth_data.password.decode() == self.password
        return AuthResult(success=ok, handled=False, auth_data=auth_data.login.decode() if ok else None)

    def _next_connection(self) -> int:
        with self._lock:
            self._connections += 1
            return self._connections

    def wait_until_closed(self, timeout: float = 10.0) -> None:
        """Until the server has seen every connection close (a relay's count, as a retry
        a minute later finds it)."""
        deadline = time.monotonic() + timeout
        while self._connections_open() and time.monotonic() < deadline:
            time.sleep(0.01)

    def _connection_opened(self) -> int:
        """How many are open, this one included."""
        with self._lock:
            self._open += 1
            self.most_at_once = max(self.most_at_once, self._open)
            return self._open

    def _connections_open(self) -> int:
        with self._lock:
            return self._open

    def _connection_closed(self) -> None:
        with self._lock:
            self._open -= 1

    def accepted_on(self, server: SMTP) -> int:
        number = getattr(server, "connection_number", 0)
        with self._lock:
            return self._accepted_per_connection.get(number, 0)

    def _record(self, server: SMTP, envelope: Envelope, session: Session) -> None:
        number = getattr(server, "connection_number", 0)
        login = session.auth_data if session.authenticated else None
        mail = ReceivedMail(
            mail_from=envelope.mail_from or "",
            rcpt_tos=tuple(envelope.rcpt_tos),
            raw=envelope.original_content or b"",
            connection=number,
            login=login if isinstance(login, str) else None,
        )
        with self._lock:
            self._received.append(mail)
            self._accepted_per_connection[number] = self._accepted_per_connection.get(number, 0) + 1
