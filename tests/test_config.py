"""Config is validated once: every problem listed with its key path, secrets never shown."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from inbox_agent.config.loader import ConfigError, build_config, load_config, parse_duration, parse_size

ROOT = Path(__file__).resolve().parents[1]


def test_shipped_example_config_loads() -> None:
    config = load_config(ROOT / "config.example.toml")
    assert config.mailbox.kind == "maildir"
    assert config.mailbox.maildir is not None
    assert config.mailbox.maildir.path == ROOT / "examples" / "maildir"
    assert config.smtp.kind == "directory"
    assert config.sla.response_seconds("security") == 3600
    assert config.sla.response_seconds("wrong_charge") == 86400


def _base() -> dict:
    return tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))


def test_every_problem_is_reported_at_once_with_its_key_path(tmp_path: Path) -> None:
    data = _base()
    data["mailbox"]["poll_interval"] = "soon"
    data["mailbox"]["kind"] = "pop3"
    data["smtp"]["batch_size"] = -1
    data["acknowledge"]["colour"] = "blue"
    data["sla"]["category"] = {"securty": "1h"}
    with pytest.raises(ConfigError) as raised:
        build_config(data, base_dir=ROOT)
    problems = "\n".join(raised.value.problems)
    assert "mailbox.poll_interval" in problems
    assert "mailbox.kind" in problems
    assert "smtp.batch_size" in problems
    assert "acknowledge.colour: unknown key" in problems
    assert "sla.category.securty: unknown category" in problems
    assert len(raised.value.problems) >= 5


def test_literal_password_is_refused_and_env_secret_is_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _base()
    data["mailbox"]["kind"] = "imap"
    data["mailbox"]["imap"]["password"] = "hunter2"
    with pytest.raises(ConfigError) as raised:
        build_config(data, base_dir=ROOT)
    assert any("mailbox.imap.password" in p and "password_env" in p for p in raised.value.problems)
    assert "hunter2" not in str(raised.value)

    del data["mailbox"]["imap"]["password"]
    monkeypatch.setenv("INBOX_AGENT_IMAP_PASSWORD", "s3cret-value")
    config = build_config(data, base_dir=ROOT)
    assert config.mailbox.imap is not None
    assert config.mailbox.imap.password.reveal() == "s3cret-value"
    assert "s3cret-value" not in repr(config)


def test_missing_env_secret_and_plaintext_without_consent(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _base()
    data["mailbox"]["kind"] = "imap"
    data["mailbox"]["imap"]["security"] = "plain"
    monkeypatch.delenv("INBOX_AGENT_IMAP_PASSWORD", raising=False)
    with pytest.raises(ConfigError) as raised:
        build_config(data, base_dir=ROOT)
    problems = raised.value.problems
    assert any("INBOX_AGENT_IMAP_PASSWORD is not set" in p for p in problems)
    assert any("mailbox.imap.security" in p and "allow_plaintext" in p for p in problems)


def test_password_file(tmp_path: Path) -> None:
    secret = tmp_path / "imap.secret"
    secret.write_text("from-a-file\n")
    data = _base()
    data["mailbox"]["kind"] = "imap"
    del data["mailbox"]["imap"]["password_env"]
    data["mailbox"]["imap"]["password_file"] = str(secret)
    config = build_config(data, base_dir=ROOT)
    assert config.mailbox.imap is not None
    assert config.mailbox.imap.password.reveal() == "from-a-file"


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[mailbox\nkind = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("5m", 300), ("24h", 86400), ("2d", 172800), (90, 90), ("250ms", 0.25)]
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text", ["fortnight", -1, float("inf"), float("nan"), "99999999999999999999d", "3651d"]
)
def test_bad_durations_are_refused(text: object) -> None:
    # Before: inf and "99999999999999999999d" were accepted and crashed the daemon
    # when it first scheduled or slept for them.
    with pytest.raises(ValueError):
        parse_duration(text)


def test_durations_that_would_loop_or_fail_at_once_are_refused() -> None:
    data = _base()
    data["mailbox"]["backoff_initial"] = "0s"  # reconnect to a failing server in a tight loop
    data["mailbox"]["kind"] = "imap"
    data["mailbox"]["imap"]["timeout"] = "0s"  # every socket operation fails at once
    data["smtp"]["timeout"] = 0
    with pytest.raises(ConfigError) as raised:
        build_config(data, base_dir=ROOT)
    problems = "\n".join(raised.value.problems)
    assert "mailbox.backoff_initial: must be at least 0.1s" in problems
    assert "mailbox.imap.timeout: must be at least 1s" in problems
    assert "smtp.timeout: must be at least 1s" in problems
    data = _base()
    data["mailbox"]["backoff_initial"], data["mailbox"]["backoff_max"] = "10m", "5m"
    with pytest.raises(ConfigError, match="backoff_max: must be at least backoff_initial"):
        build_config(data, base_dir=ROOT)


@pytest.mark.parametrize(("value", "problem"), [(-1, "got -1"), (20, "got 20"), ("low", "a whole number")])
def test_workers_nice_outside_0_to_19_is_refused(value: object, problem: str) -> None:
    data = _base()
    data["mailbox"]["workers_nice"] = value
    with pytest.raises(ConfigError) as raised:
        build_config(data, base_dir=ROOT)
    assert any(line.startswith("mailbox.workers_nice:") and problem in line for line in raised.value.problems)


def test_workers_nice_defaults_to_10_and_0_keeps_the_daemons_priority() -> None:
    assert build_config(_base(), base_dir=ROOT).mailbox.workers_nice == 10
    data = _base()
    data["mailbox"]["workers_nice"] = 0
    assert build_config(data, base_dir=ROOT).mailbox.workers_nice == 0


def test_bad_duration_and_sizes() -> None:
    with pytest.raises(ValueError):
        parse_size(-5)
    assert parse_size("25MB") == 25 * 1024 * 1024
    assert parse_size("512kb") == 512 * 1024
    with pytest.raises(ValueError):
        parse_size("big")
