"""`run --once` on a big batch: counts by outcome instead of a line per mail, and
still every mail that needs attention (quarantined, with its reason)."""

from __future__ import annotations

from pathlib import Path

from helpers import cli, cli_json, complaint, write_config

from inbox_agent.entrypoints.cli_run import FULL_TABLE_ROWS, outcome_kind


def _maildir(tmp_path: Path, mails: dict[str, bytes]) -> Path:
    maildir = tmp_path / "maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    for name, raw in mails.items():
        (maildir / "new" / name).write_bytes(raw)
    return maildir


def _counts(stdout: str) -> dict[str, int]:
    """The outcome table's rows: '│ new case, acknowledgement, … │ 12 │'."""
    counts: dict[str, int] = {}
    for line in stdout.splitlines():
        cells = [cell.strip() for cell in line.strip("│┃ ").split("│")]
        if len(cells) == 2 and cells[1].isdigit():
            counts[cells[0]] = int(cells[1])
    return counts


def test_a_big_batch_prints_counts_and_every_quarantined_mail(tmp_path: Path) -> None:
    good = FULL_TABLE_ROWS + 10
    mails = {
        f"{i:03d}.mail": complaint(f"c{i}@example.com", "Payment failed", f"Error E{i} at checkout.")
        for i in range(good)
    }
    broken = {"broken-1.mail": b"\x00\x01 not a mail", "broken-2.mail": b"\x00\x02 nor this"}
    config = write_config(tmp_path, maildir=_maildir(tmp_path, {**mails, **broken}))  # one batch: 100
    result = cli(config, "run", "--once")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert f"{good + 2} fetched, {good + 2} processed, 0 left" in out
    counts = _counts(out)
    assert sum(counts.values()) == good + 2, out
    assert counts["quarantined (parse)"] == 2, out
    cases = cli_json(config, "cases")
    new_cases = sum(count for kind, count in counts.items() if kind.startswith("new case"))
    assert new_cases == len(cases) == good
    # Every quarantined mail is still listed by name with its reason, as `quarantine` has it.
    for entry in cli_json(config, "quarantine"):
        assert entry["source"] in out, out
        assert f"quarantined ({entry['stage']}): {entry['reason']}" in out, out
    # One line per good mail is gone: no good mail's sender is printed.
    assert "c1@example.com" not in out


def test_a_small_batch_keeps_the_line_per_mail(tmp_path: Path) -> None:
    mails = {f"{i}.mail": complaint(f"c{i}@example.com", "Payment failed", "Error E1023.") for i in range(3)}
    config = write_config(tmp_path, maildir=_maildir(tmp_path, mails))
    out = cli(config, "run", "--once").stdout
    assert all(f"c{i}@example.com" in out for i in range(3)), out


def test_outcome_kind_groups_by_codes_and_quarantine_by_stage() -> None:
    assert (
        outcome_kind("new case; acknowledgement; account_locked")
        == "new case, acknowledgement, account_locked"
    )
    assert outcome_kind("quarantined (parse): not a mail: no headers") == "quarantined (parse)"
    assert outcome_kind("filed; no reply: auto_reply") == "filed, no reply: auto_reply"
