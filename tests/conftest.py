"""Shared fixtures: a real Dovecot IMAP server and a real aiosmtpd SMTP server.

``dovecot``: one Dovecot process per test session (it starts in ~0.05 s but takes
~1 s to stop), emptied before every test, so each test sees a brand-new mail store
for user ``agent`` / ``secret``. Tests may stop() or restart() it; the fixture
brings it back. ``dovecot_factory`` builds extra servers with their own config
(a server without MOVE or IDLE, one with TLS) and destroys them afterwards.

``smtp_server``: a fresh aiosmtpd per test (fault mode off, nothing received).

Without Dovecot the IMAP tests are skipped on a developer machine, but FAIL in CI
(``CI=true`` or ``INBOX_AGENT_REQUIRE_DOVECOT=1``) so a broken CI image is noticed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
# bench/ holds tools the tests also drive (the fuzzer, the benchmark corpus).
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from servers import (  # noqa: E402  (tests/ is not a package; servers.py sits beside this file)
    DovecotServer,
    SelfSignedCertificate,
    SmtpServer,
    dovecot_missing_reason,
    dovecot_required,
    make_certificate,
)

# Third-party corpora (BANKING77, real-world mail) copied into the repository with their
# licences; see tests/data/shared/README.md. Always present: tests using it never skip.
DATA = Path(__file__).resolve().parent / "data" / "shared"


def _demand_dovecot() -> None:
    reason = dovecot_missing_reason()
    if reason is None:
        return
    if dovecot_required():
        pytest.fail(f"Dovecot is required here (CI / INBOX_AGENT_REQUIRE_DOVECOT=1): {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def _dovecot_process() -> Iterator[DovecotServer]:
    _demand_dovecot()
    server = DovecotServer()
    try:
        server.start()
        yield server
    finally:
        server.destroy()


@pytest.fixture
def dovecot(_dovecot_process: DovecotServer) -> Iterator[DovecotServer]:
    """The shared Dovecot with an empty mail store; running again after the test."""
    server = _dovecot_process
    if not server.running:
        server.start()
    server.reset()
    try:
        yield server
    finally:
        if not server.running:
            server.start()


@pytest.fixture(scope="session")
def tls_certificate(tmp_path_factory: pytest.TempPathFactory) -> SelfSignedCertificate:
    """A self-signed certificate for 127.0.0.1; use ``cert_file`` as the CA file."""
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def _tls_dovecot_process(tls_certificate: SelfSignedCertificate) -> Iterator[DovecotServer]:
    _demand_dovecot()
    server = DovecotServer(certificate=tls_certificate)
    try:
        server.start()
        yield server
    finally:
        server.destroy()


@pytest.fixture
def tls_dovecot(_tls_dovecot_process: DovecotServer) -> Iterator[DovecotServer]:
    """A Dovecot with the ``tls_certificate``: STARTTLS on ``port``, implicit TLS on ``tls_port``."""
    server = _tls_dovecot_process
    if not server.running:
        server.start()
    server.reset()
    yield server


@pytest.fixture
def dovecot_factory() -> Iterator[Callable[..., DovecotServer]]:
    """``dovecot_factory(extra_config=..., certificate=...)`` -> a started private Dovecot."""
    _demand_dovecot()
    servers: list[DovecotServer] = []

    def build(**kwargs: object) -> DovecotServer:
        server = DovecotServer(**kwargs)  # type: ignore[arg-type]
        servers.append(server)
        return server.start()

    try:
        yield build
    finally:
        for server in servers:
            server.destroy()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp_factory() -> Iterator[Callable[..., SmtpServer]]:
    """``smtp_factory(auth_required=True, certificate=..., tls="starttls")`` -> a started server."""
    servers: list[SmtpServer] = []

    def build(**kwargs: object) -> SmtpServer:
        server = SmtpServer(**kwargs)  # type: ignore[arg-type]
        servers.append(server)
        return server.start()

    try:
        yield build
    finally:
        for server in servers:
            server.stop()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``tests/data/shared``: the third-party corpora kept in the repository."""
    return DATA
