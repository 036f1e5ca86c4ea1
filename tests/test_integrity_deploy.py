"""The systemd units in deploy/ are valid and keep the sandbox ops rely on."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from inbox_agent.entrypoints.cli_common import EXIT_CONFIG
from inbox_agent.entrypoints.failures import EXIT_STORE_DAMAGED

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
UNITS = ["inbox-agent.service", "inbox-agent-once.service", "inbox-agent-once.timer"]
INSTALLED_BINARY = "/opt/inbox-agent/venv/bin/inbox-agent"


def _unit(name: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read(DEPLOY / name)
    return parser


@pytest.mark.parametrize("name", ["inbox-agent.service", "inbox-agent-once.service"])
def test_service_runs_sandboxed_as_its_own_user_and_writes_only_the_data_directory(name: str) -> None:
    service = _unit(name)["Service"]
    assert service["User"] == "inbox-agent"
    assert service["ProtectSystem"] == "strict"
    assert service["NoNewPrivileges"] == "yes"
    assert service["ReadWritePaths"] == "/var/lib/inbox-agent"
    assert service["KillSignal"] == "SIGTERM"
    assert service["ExecStart"].startswith(INSTALLED_BINARY + " run")


def test_daemon_restarts_on_failure_but_not_on_a_bad_config_or_a_damaged_store() -> None:
    service = _unit("inbox-agent.service")["Service"]
    assert service["Restart"] == "on-failure"
    assert service["RestartPreventExitStatus"].split() == [str(EXIT_CONFIG), str(EXIT_STORE_DAMAGED)]
    assert _unit("inbox-agent-once.service")["Service"]["ExecStart"].endswith("run --once")


def test_systemd_analyze_verify_accepts_every_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        if os.environ.get("CI") == "true":
            pytest.fail("systemd-analyze is missing (.ci/run installs the systemd package)")
        pytest.skip("systemd-analyze not installed")
    binary = Path(sys.executable).with_name("inbox-agent")
    for name in UNITS:
        # The installed path does not exist here: point the copy at this checkout's entry point.
        text = (DEPLOY / name).read_text().replace(INSTALLED_BINARY, str(binary))
        (tmp_path / name).write_text(text)
    result = subprocess.run(
        [analyze, "verify", *(str(tmp_path / name) for name in UNITS)], capture_output=True, text=True
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Unknown" not in output and "ignoring" not in output, output
