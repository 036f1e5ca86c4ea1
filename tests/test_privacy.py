"""Personal data and credentials never leak: logs at every level, tracebacks, file modes.

The daemon runs as a real process with ``[logging] level = "DEBUG"`` and a log file;
its stderr and the file are what ops would paste into a ticket, so nothing a
customer wrote in confidence (card, CVV, ID number, phone, one-time code, password)
and no IMAP/SMTP password may appear there.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from helpers import cli, cli_json, complaint, write_config

pytestmark = pytest.mark.dovecot

CARD = "4111 1111 1111 1111"
CVV = "737"
CN_ID = "11010519491231002X"
PHONE = "13812345678"
OTP = "493817"
CUSTOMER_PASSWORD = "Hunter2-Kx9q"
SECRETS_WRITTEN_BY_CUSTOMERS = (CARD, CARD.replace(" ", ""), CN_ID, PHONE, OTP, CUSTOMER_PASSWORD)

IMAP_PASSWORD = "imap-Pw-7c1e9a4b"
SMTP_PASSWORD = "smtp-Pw-3f8d2b6e"


def _confession() -> bytes:
    body = (
        f"My card {CARD} CVV {CVV} was charged twice. My ID number is {CN_ID}, "
        f"phone {PHONE}. The verification code is {OTP} and my password is {CUSTOMER_PASSWORD}.\n"
        f"支付密码是{CUSTOMER_PASSWORD} 验证码：{OTP}\n"
    )
    return complaint(
        "leaky@example.com", f"Charged twice on card {CARD.replace(' ', '')} phone {PHONE}", body
    )


def _debug_config(tmp_path: Path, dovecot, smtp) -> Path:  # type: ignore[no-untyped-def]
    config = write_config(
        tmp_path,
        dovecot=dovecot,
        smtp=smtp,
        overrides={
            "logging": {"level": "DEBUG", "file": str(tmp_path / "agent.log")},
            "smtp": {
                "username": smtp.user,
                "password_file": str(tmp_path / "smtp.secret"),
                "allow_plaintext": True,
            },
        },
    )
    (tmp_path / "smtp.secret").write_text(smtp.password)
    return config


def test_customer_secrets_are_masked_in_debug_logs_and_library_loggers(
    dovecot_factory, smtp_factory, tmp_path: Path
) -> None:
    dovecot = dovecot_factory(password=IMAP_PASSWORD)
    smtp = smtp_factory(auth_required=True, password=SMTP_PASSWORD)
    config = _debug_config(tmp_path, dovecot, smtp)
    dovecot.append(_confession())
    result = cli(config, "run", "--once")
    assert result.returncode == 0, result.stderr
    assert len(smtp.wait_for(1)) == 1
    logs = result.stderr + (tmp_path / "agent.log").read_text()
    assert "logged in" in logs  # the handlers really wrote (nothing is logged at DEBUG today)
    for secret in (*SECRETS_WRITTEN_BY_CUSTOMERS, IMAP_PASSWORD, SMTP_PASSWORD):
        assert secret not in logs, secret
    # The classify command logs too, and a CVV is only masked next to its label.
    eml = tmp_path / "confession.eml"
    eml.write_bytes(_confession())
    classified = cli(config, "classify", str(eml))
    for secret in SECRETS_WRITTEN_BY_CUSTOMERS:
        assert secret not in classified.stderr, secret


def test_imap_and_smtp_passwords_never_appear_when_logins_fail(
    dovecot_factory, smtp_factory, tmp_path: Path
) -> None:
    dovecot = dovecot_factory(password=IMAP_PASSWORD)
    smtp = smtp_factory(auth_required=True, password=SMTP_PASSWORD)
    config = _debug_config(tmp_path, dovecot, smtp)
    wrong_imap, wrong_smtp = "wrong-imap-Pw-55aa", "wrong-smtp-Pw-66bb"
    (tmp_path / "imap.secret").write_text(wrong_imap)
    (tmp_path / "smtp.secret").write_text(wrong_smtp)
    outputs = []
    for args in (("run", "--once"), ("check",), ("status",)):
        result = cli(config, *args)
        outputs.append(result.stdout + result.stderr)
    outputs.append((tmp_path / "agent.log").read_text())
    text = "\n".join(outputs)
    assert "login failed" in text  # the failure itself is reported
    for secret in (IMAP_PASSWORD, SMTP_PASSWORD, wrong_imap, wrong_smtp):
        assert secret not in text, secret
    # The SMTP login fails too once the mailbox works: still no password anywhere.
    (tmp_path / "imap.secret").write_text(IMAP_PASSWORD)
    dovecot.append(complaint("x@example.com", "Account locked", "My account is locked."))
    result = cli(config, "run", "--once")
    text = result.stdout + result.stderr + (tmp_path / "agent.log").read_text()
    assert cli_json(config, "status")["outbox_pending"] == 1
    for secret in (IMAP_PASSWORD, SMTP_PASSWORD, wrong_smtp):
        assert secret not in text, secret


def test_data_files_and_raw_mail_are_private(dovecot, tmp_path: Path) -> None:
    config = write_config(tmp_path, dovecot=dovecot)
    raw = _confession()
    dovecot.append(raw)
    dovecot.append(b"this is not a mail at all \x00\xff")
    assert cli(config, "run", "--once").returncode == 0
    data = tmp_path / "data"
    files = [p for p in data.rglob("*") if p.is_file()]
    folders = [data, *(p for p in data.rglob("*") if p.is_dir())]
    assert any(p.parent.parent.name == "raw" for p in files)
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for path in folders:
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    for path in (tmp_path / "outbox").rglob("*.eml"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
