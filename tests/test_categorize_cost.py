"""bench/categorize_cost.py: the categorizer's cost per mail on unlabelled mail, per language."""

from __future__ import annotations

import mailbox
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest

from bench.categorize_cost import main, raw_mails, texts_by_language

PROJECT = Path(__file__).resolve().parents[1]
LABELLED = PROJECT / "tests" / "data" / "labelled"


def _mail(subject: str, text: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "customer@example.com"
    message["To"] = "complaints@wallet.example"
    message["Subject"] = subject
    message.set_content(text)
    return message


def _rows(stdout: str) -> dict[str, list[str]]:
    """The table's rows by language: mails, chars, n-grams, ms/mail, verdict."""
    return {line.split()[0]: line.split()[1:] for line in stdout.splitlines() if line[:3] in ("zh ", "en ")}


def test_a_folder_of_eml_files_is_timed_per_language_as_the_script_runs() -> None:
    completed = subprocess.run(
        [sys.executable, str(PROJECT / "bench" / "categorize_cost.py"), str(LABELLED), "--rounds", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    rows = _rows(completed.stdout)
    assert set(rows) == {"zh", "en"}
    assert sum(int(row[0]) for row in rows.values()) == len(list(LABELLED.glob("*.eml")))
    for mails, chars, ngrams, ms, verdict in rows.values():
        assert int(mails) > 0 and float(chars) > 0 and float(ngrams) > 0
        assert float(ms) > 0
        assert verdict == ("met" if float(ms) < 1.0 else "MISSED")


def test_an_mbox_is_read_mail_by_mail_and_empty_mails_are_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    box = mailbox.mbox(tmp_path / "complaints.mbox")
    box.add(_mail("账户被冻结", "我的钱包账户今天突然被冻结了，无法登录，请尽快处理。"))
    box.add(_mail("Charged twice", "I was charged twice for one order of 25.00 USD yesterday."))
    box.add(_mail("", ""))
    box.flush()
    box.close()

    groups = texts_by_language(raw_mails([tmp_path / "complaints.mbox"]))
    assert {language: len(texts) for language, texts in groups.items()} == {"zh": 1, "en": 1}
    assert groups["zh"][0][0] == "账户被冻结"

    assert main([str(tmp_path / "complaints.mbox"), "--rounds", "1"]) == 0
    rows = _rows(capsys.readouterr().out)
    assert rows["zh"][0] == "1" and rows["en"][0] == "1"


def test_single_eml_files_are_read_as_one_mail_each() -> None:
    files = sorted(LABELLED.glob("*.eml"))[:2]
    assert list(raw_mails(files)) == [file.read_bytes() for file in files]


def test_no_mail_with_text_is_a_clear_failure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty")]) == 1
    assert "no mail with any text" in capsys.readouterr().err
