"""Small CLI answers a script relies on: `show --json` keeps stdout JSON when the case
is not there, and `cases --category` refuses a category that does not exist.

Before: `show --json WLT-…-999999` printed "no case …" as plain text on stdout, and
`cases --category acount_locked` listed 0 cases with exit 0 — a typo read as "none"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import cli, cli_json, complaint, write_config


@pytest.fixture
def config(tmp_path: Path) -> Path:
    maildir = tmp_path / "maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    body = "My payment of 500.00 CNY failed on 2026-11-19."
    (maildir / "new" / "1.eml").write_bytes(complaint("ana@customer.example", "payment failed", body))
    config = write_config(tmp_path, maildir=maildir)
    assert cli(config, "run", "--once").returncode == 0
    return config


def test_show_json_of_a_missing_case_is_a_json_error_and_exit_1(config: Path) -> None:
    result = cli(config, "show", "WLT-2026-999999", "--json")
    assert result.returncode == 1, result.stdout + result.stderr
    assert json.loads(result.stdout) == {"case": "WLT-2026-999999", "error": "no case WLT-2026-999999"}
    plain = cli(config, "show", "WLT-2026-999999")
    assert plain.returncode == 1 and "no case WLT-2026-999999" in plain.stdout


def test_cases_refuses_an_unknown_category_like_an_unknown_status(config: Path) -> None:
    typo = cli(config, "cases", "--category", "acount_locked")
    assert typo.returncode == 2, typo.stdout + typo.stderr
    assert "invalid choice: 'acount_locked'" in typo.stderr and "account_locked" in typo.stderr
    assert typo.stdout == ""
    (case,) = cli_json(config, "cases")
    assert [c["case_id"] for c in cli_json(config, "cases", "--category", case["category"])] == [
        case["case_id"]
    ]
