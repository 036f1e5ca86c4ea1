"""How often IDLE is renewed (adapters/imap_server.py): "auto" follows the server's name,
read from ID (RFC 2971) or, for a server without ID, from its greeting."""

from __future__ import annotations

from typing import Any

import pytest
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

from inbox_agent.adapters.imap_server import (
    IDLE_RENEW_DEFAULT,
    IDLE_RENEW_HELD,
    ServerProfile,
    idle_renewal,
    read_profile,
)
from inbox_agent.config.loader import ConfigError, load_config
from inbox_agent.config.settings import ImapSettings, Secret


class FakeServer:
    """The few IMAPClient calls read_profile makes, answering as a server would."""

    def __init__(self, capabilities: tuple[bytes, ...], id_answer: Any, welcome: bytes) -> None:
        self._capabilities = capabilities
        self._id_answer = id_answer
        self.welcome = welcome
        self.id_calls = 0

    def capabilities(self) -> tuple[bytes, ...]:
        return self._capabilities

    def list_folders(self) -> list[tuple[tuple[bytes, ...], bytes, str]]:
        return [((b"\\HasNoChildren",), b"/", "INBOX")]

    def id_(self) -> Any:
        self.id_calls += 1
        if isinstance(self._id_answer, Exception):
            raise self._id_answer
        return self._id_answer


def _profile(server: FakeServer) -> ServerProfile:
    return read_profile(server, lambda _action, operation: operation())  # type: ignore[arg-type]


def _settings(idle_timeout: float | None = None) -> ImapSettings:
    return ImapSettings(
        host="imap.example", port=143, security="tls", username="u", password=Secret("p"),
        idle=True, idle_timeout=idle_timeout,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("capabilities", "id_answer", "welcome", "software"),
    [  # imapclient's parse of "* ID (...)" and of "* ID NIL"
        (
            (b"IMAP4REV1", b"ID", b"IDLE"),
            ((b"name", b"Dovecot", b"version", b"2.3"),),
            b"* OK Mail ready.",
            "Dovecot",
        ),
        (
            (b"IMAP4REV1", b"ID", b"IDLE"),
            ((b"vendor", b"x", b"name", b"Cyrus IMAPD"),),
            b"* OK Dovecot ready.",
            "Cyrus IMAPD",
        ),
        (
            (b"IMAP4REV1", b"ID", b"IDLE"),
            None,
            b"* OK [CAPABILITY IMAP4rev1] Dovecot (Debian) ready.",
            "Dovecot",
        ),
        ((b"IMAP4REV1", b"IDLE"), ((b"name", b"Dovecot"),), b"* OK Dovecot ready.", "Dovecot"),
        ((b"IMAP4REV1", b"IDLE"), None, b"* OK Gimap ready for requests", ""),
        ((b"IMAP4REV1", b"ID", b"IDLE"), ((b"name", None),), b"* OK ready", ""),
    ],
)
def test_the_server_name_comes_from_id_else_from_the_greeting(
    capabilities: tuple[bytes, ...], id_answer: Any, welcome: bytes, software: str
) -> None:
    server = FakeServer(capabilities, id_answer, welcome)
    assert _profile(server).software == software
    assert server.id_calls == (1 if b"ID" in capabilities else 0)  # ID only where offered


def test_a_refused_id_leaves_the_name_to_the_greeting_and_a_lost_connection_still_fails() -> None:
    refused = FakeServer(
        (b"IMAP4REV1", b"ID", b"IDLE"), IMAPClientError("ID BAD unknown"), b"* OK Dovecot ready."
    )
    assert _profile(refused).software == "Dovecot"
    gone = FakeServer((b"IMAP4REV1", b"ID", b"IDLE"), IMAPClientAbortError("socket closed"), b"* OK ready")
    with pytest.raises(IMAPClientAbortError):
        _profile(gone)


def test_auto_renews_often_only_against_a_server_that_holds_announcements() -> None:
    dovecot = ServerProfile(frozenset({"IDLE"}), "", "/", frozenset({"INBOX"}), software="Dovecot")
    other = ServerProfile(frozenset({"IDLE"}), "", "/", frozenset({"INBOX"}), software="Cyrus IMAPD")
    assert idle_renewal(_settings(), dovecot).seconds == IDLE_RENEW_HELD
    assert "Dovecot holds an IDLE announcement 500 ms" in idle_renewal(_settings(), dovecot).note
    assert idle_renewal(_settings(), other).seconds == IDLE_RENEW_DEFAULT
    # A configured interval is used as written, whatever the server.
    assert idle_renewal(_settings(2.0), dovecot).seconds == 2.0
    assert idle_renewal(_settings(2.0), other).seconds == 2.0
    assert idle_renewal(_settings(300.0), other).seconds == IDLE_RENEW_DEFAULT  # the loop's cap


def _config_with(tmp_path: Any, idle_timeout: str) -> Any:
    path = tmp_path / "config.toml"
    path.write_text(
        '[mailbox]\nkind = "imap"\naddress = "complaints@wallet.example"\n'
        '[mailbox.imap]\nhost = "imap.example"\nusername = "u"\npassword_env = "IMAP_PW"\n'
        f'idle = true\n{idle_timeout}\n[smtp]\nkind = "directory"\n'
    )
    return load_config(path)


def test_idle_timeout_reads_auto_by_default_and_a_duration_when_given(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMAP_PW", "secret")
    assert _config_with(tmp_path, "").mailbox.imap.idle_timeout is None
    assert _config_with(tmp_path, 'idle_timeout = "auto"').mailbox.imap.idle_timeout is None
    assert _config_with(tmp_path, 'idle_timeout = "0.25s"').mailbox.imap.idle_timeout == 0.25
    with pytest.raises(ConfigError, match="idle_timeout"):
        _config_with(tmp_path, 'idle_timeout = "soon"')
