"""IMAP servers that are not a default Dovecot: keywords refused, STORE/CREATE/APPEND
refused, folders under "INBOX." — each a real Dovecot configured to behave as Cyrus
or Courier do (issue 17), run through the real CLI.

- keywords refused: the ACL plugin without the ``w`` right (PERMANENTFLAGS lacks
  keywords and ``\\*``, as Courier with ``IMAP_KEYWORDS=0``);
- STORE refused: ``mail_max_keyword_length`` below our keyword (a tagged NO);
- CREATE refused: the ACL without the ``k`` right (Cyrus refusing a top-level folder);
- APPEND to Sent refused: a negative ACL entry on that folder;
- ``INBOX.`` namespace with a ``\\Sent`` special-use folder (Cyrus, Courier).

The global ACL file is re-read on every access (``cache_secs=0``), so "fixing the
cause" is rewriting it; the keyword limit is fixed by a restart with a new config.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import cli, cli_json, complaint, write_config
from servers import DovecotServer

pytestmark = pytest.mark.dovecot

KEYWORD = b"$InboxAgentDone"
ALL_RIGHTS = "* owner lrwsitekxepa\n"
NO_KEYWORDS = "* owner lrsitekxepa\n"  # no "w": only \Seen and \Deleted may be set
NO_CREATE = "* owner lrwsitexepa\n"  # no "k": CREATE refused
NO_SENT_APPEND = ALL_RIGHTS + "Sent -owner ip\n"  # APPEND to Sent refused

INBOX_NAMESPACE = """
namespace inbox {
  inbox = yes
  prefix = INBOX.
  separator = .
%s}
"""
SENT_SPECIAL_USE = """  mailbox Sent {
    special_use = \\Sent
    auto = create
  }
"""


class AclFile:
    """A global ACL file the server's imap processes (user dovecot) can read."""

    def __init__(self, rights: str) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="inbox-agent-acl-"))
        self.folder.chmod(0o755)
        self.path = self.folder / "global-acl"
        self.set(rights)

    def set(self, rights: str) -> None:
        self.path.write_text(rights)
        self.path.chmod(0o644)

    @property
    def config(self) -> str:
        return (
            "mail_plugins = $mail_plugins acl\n"
            f"plugin {{\n  acl = vfile:{self.path}:cache_secs=0\n  acl_globals_only = yes\n}}\n"
        )


@pytest.fixture
def acl() -> Iterator[Callable[[str], AclFile]]:
    made: list[AclFile] = []

    def build(rights: str) -> AclFile:
        made.append(AclFile(rights))
        return made[-1]

    yield build
    for item in made:
        shutil.rmtree(item.folder, ignore_errors=True)


def _mails(server: DovecotServer, count: int) -> list[int]:
    return server.append_many(
        [
            complaint(
                f"customer{n}@example.com",
                f"Payment failed #{n}",
                f"My payment of ¥{n}0.00 failed.",
                message_id=f"<servers-{n}@example.com>",
            )
            for n in range(count)
        ]
    )


def _run(config: Path, expect: int = 0) -> str:
    ran = cli(config, "run", "--once")
    assert ran.returncode == expect, ran.stdout + ran.stderr
    return ran.stdout + ran.stderr


def _owes(out: str) -> bool:
    """The run's summary says marks or Sent copies are still pending."""
    return "marks pending" in out or "copies pending" in out


def _config(tmp_path: Path, server: DovecotServer, smtp: Any, **imap: Any) -> Path:
    return write_config(tmp_path, dovecot=server, smtp=smtp, overrides={"mailbox.imap": imap})


# -- keywords refused -----------------------------------------------------------------


def test_keywords_refused_falls_back_to_the_checkpoint_with_one_warning(
    dovecot_factory: Callable[..., DovecotServer],
    acl: Callable[[str], AclFile],
    smtp_server: Any,
    tmp_path: Path,
) -> None:
    rights = acl(NO_KEYWORDS)
    server = dovecot_factory(extra_config=rights.config)
    uids = _mails(server, 5)
    config = _config(tmp_path, server, smtp_server)

    checked = cli(config, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "does not keep the keyword $InboxAgentDone (PERMANENTFLAGS: \\Deleted \\Seen)" in checked.stdout
    assert "fallback: checkpoint only" in checked.stdout

    out = _run(config)
    assert "5 fetched, 5 processed, 0 left" in out
    assert not _owes(out)
    assert out.count("fallback: checkpoint only") == 1, "one clear warning, not one per batch"
    assert len(smtp_server.wait_for(5)) == 5
    assert all(KEYWORD not in server.flags(uid) for uid in uids)  # nothing pretends to be flagged

    again = _run(config)
    assert "0 fetched, 0 processed" in again
    assert len(smtp_server.received) == 5
    assert len(cli_json(config, "cases")) == 5


def test_keywords_refused_with_the_seen_fallback_marks_mail_seen_then_the_keyword_once_allowed(
    dovecot_factory: Callable[..., DovecotServer],
    acl: Callable[[str], AclFile],
    smtp_server: Any,
    tmp_path: Path,
) -> None:
    rights = acl(NO_KEYWORDS)
    server = dovecot_factory(extra_config=rights.config)
    first = _mails(server, 3)
    config = _config(tmp_path, server, smtp_server, keyword_fallback="seen")

    assert "fallback: processed mail is marked \\Seen" in _run(config)
    assert all(b"\\Seen" in server.flags(uid) and KEYWORD not in server.flags(uid) for uid in first)

    rights.set(ALL_RIGHTS)
    later = server.append(complaint("late@example.com", "Account locked", "My account is locked."))
    _run(config)
    assert KEYWORD in server.flags(later) and b"\\Seen" not in server.flags(later)


# -- marks the server refuses: owed, reported, retried ----------------------------------


def test_refused_store_is_owed_reported_and_marked_once_the_cause_is_fixed(
    dovecot_factory: Callable[..., DovecotServer], smtp_server: Any, tmp_path: Path
) -> None:
    # PERMANENTFLAGS allows keywords (\*), yet STORE answers NO [CANNOT]: as Courier does.
    server = dovecot_factory(extra_config="mail_max_keyword_length = 8\n")
    uids = _mails(server, 5)
    config = _config(tmp_path, server, smtp_server)

    out = _run(config, expect=1)
    assert "5 fetched, 5 processed, 0 left" in out  # the truth: all 5 are stored
    assert "5 marks pending" in out
    assert "server refused STORE" in out and "Keyword length too long" in out
    assert len(smtp_server.wait_for(5)) == 5
    assert "5 processed mails still to be marked" in cli_json(config, "status")["mailbox"]

    still_broken = _run(config, expect=1)
    assert "0 fetched" in still_broken and "5 marks pending" in still_broken
    assert len(smtp_server.received) == 5 and len(cli_json(config, "cases")) == 5

    server.config_path.write_text(server.config_path.read_text().replace("mail_max_keyword_length = 8", ""))
    server.restart()
    fixed = _run(config)
    assert not _owes(fixed)
    assert all(KEYWORD in server.flags(uid) for uid in uids)
    assert cli_json(config, "status")["mailbox"] == "ok"
    assert len(smtp_server.received) == 5


def test_refused_create_for_move_is_retried_until_the_folder_can_be_made(
    dovecot_factory: Callable[..., DovecotServer],
    acl: Callable[[str], AclFile],
    smtp_server: Any,
    tmp_path: Path,
) -> None:
    rights = acl(NO_CREATE)
    server = dovecot_factory(extra_config=rights.config)
    _mails(server, 4)
    config = _config(tmp_path, server, smtp_server, processed_action="move")

    out = _run(config, expect=1)
    assert "4 fetched, 4 processed, 0 left" in out and "4 marks pending" in out
    assert "server refused CREATE Processed" in out and "NOPERM" in out
    assert len(server.uids("INBOX")) == 4

    assert "4 marks pending" in _run(config, expect=1)  # never reported once and forgotten

    rights.set(ALL_RIGHTS)
    assert not _owes(_run(config))
    assert server.uids("INBOX") == []
    assert len(server.uids("Processed")) == 4
    assert len(smtp_server.received) == 4


def test_refused_sent_copy_is_owed_and_kept_once_the_folder_accepts_it(
    dovecot_factory: Callable[..., DovecotServer],
    acl: Callable[[str], AclFile],
    smtp_server: Any,
    tmp_path: Path,
) -> None:
    rights = acl(NO_SENT_APPEND)
    server = dovecot_factory(extra_config=rights.config)
    server.create_folder("Sent")
    _mails(server, 2)
    config = _config(tmp_path, server, smtp_server, sent_folder="Sent")

    out = _run(config, expect=1)
    assert "2 Sent-folder copies pending" in out
    assert "APPEND Sent" in out and "NOPERM" in out
    assert len(smtp_server.wait_for(2)) == 2
    assert server.uids("Sent") == []

    rights.set(ALL_RIGHTS)
    assert not _owes(_run(config))
    assert len(server.uids("Sent")) == 2
    # The copies are read back as our own mail: the customers still wait for staff.
    assert all(case["awaiting_since"] for case in cli_json(config, "cases"))
    assert len(smtp_server.received) == 2


def test_a_crash_right_after_the_commit_leaves_no_mail_unmarked(
    dovecot: DovecotServer, smtp_server: Any, tmp_path: Path
) -> None:
    uids = _mails(dovecot, 6)
    config = _config(tmp_path, dovecot, smtp_server)
    crashed = cli(config, "run", "--once", env={"INBOX_AGENT_CRASH_AT": "after_commit"})
    assert crashed.returncode < 0, crashed.stdout + crashed.stderr
    assert all(KEYWORD not in dovecot.flags(uid) for uid in uids)

    _run(config)
    assert all(KEYWORD in dovecot.flags(uid) for uid in uids)
    assert len(cli_json(config, "cases")) == 6


# -- folders under "INBOX." --------------------------------------------------------------


@pytest.mark.parametrize("sent_folder", ["auto", "Sent"])
def test_inbox_prefixed_namespace_finds_the_sent_folder_and_makes_the_processed_one(
    dovecot_factory: Callable[..., DovecotServer], smtp_server: Any, tmp_path: Path, sent_folder: str
) -> None:
    server = dovecot_factory(extra_config=INBOX_NAMESPACE % SENT_SPECIAL_USE)
    _mails(server, 1)
    config = _config(tmp_path, server, smtp_server, sent_folder=sent_folder, processed_action="move")

    checked = cli(config, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "personal prefix 'INBOX.', separator '.'" in checked.stdout
    assert "special-use folders: \\Sent INBOX.Sent" in checked.stdout
    assert "processed folder: INBOX.Processed (does not exist yet" in checked.stdout
    assert "Sent folder: " in checked.stdout and "INBOX.Sent" in checked.stdout.split("Sent folder: ")[1]

    _run(config)
    (ack,) = smtp_server.wait_for(1)
    assert server.uids("INBOX") == [] and len(server.uids("INBOX.Processed")) == 1
    (copy_uid,) = server.uids("INBOX.Sent")
    (case,) = cli_json(config, "cases")

    # A colleague's reply written by hand lands in INBOX.Sent: it is read as a staff response.
    reply_uid = server.append(
        complaint(
            "complaints@wallet.example",
            f"Re: [{case['case_id']}] Payment failed #0",
            "The payment was reversed; please try again.",
            in_reply_to="<servers-0@example.com>",
        ),
        folder="INBOX.Sent",
    )
    _run(config)
    shown = cli_json(config, "show", case["case_id"])
    assert [event["kind"] for event in shown["events"]].count("staff_reply") == 1
    assert KEYWORD in server.flags(reply_uid, folder="INBOX.Sent")
    assert server.uids("INBOX.Sent") == [copy_uid, reply_uid]


def test_sent_folder_auto_without_a_special_use_folder_keeps_no_copies_and_says_so(
    dovecot_factory: Callable[..., DovecotServer], smtp_server: Any, tmp_path: Path
) -> None:
    server = dovecot_factory(extra_config=INBOX_NAMESPACE % "")
    _mails(server, 2)
    config = _config(tmp_path, server, smtp_server)

    out = _run(config)
    assert "2 fetched, 2 processed" in out
    assert out.count("the server marks no folder \\Sent") == 1
    assert [name for name in _folders(server) if name != "INBOX"] == []


def test_check_lists_capabilities_and_every_fallback(
    dovecot_factory: Callable[..., DovecotServer],
    acl: Callable[[str], AclFile],
    smtp_server: Any,
    tmp_path: Path,
) -> None:
    rights = acl(NO_KEYWORDS)
    server = dovecot_factory(extra_config=rights.config + "imap_capability = IMAP4rev1 UIDPLUS\n")
    config = _config(tmp_path, server, smtp_server, idle=True, processed_action="move", sent_folder="")

    checked = cli(config, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    out = checked.stdout
    assert "capabilities: IDLE no, MOVE no, UIDPLUS yes, NAMESPACE no" in out
    assert "namespace: personal prefix '', separator '.'" in out
    assert "fallback: checkpoint only" in out
    assert "moving processed mail: fallback (no MOVE): COPY, STORE \\Deleted, UID EXPUNGE" in out
    assert 'Sent folder: none (sent_folder = "")' in out
    assert "waiting for mail: fallback (no IDLE): polling every poll_interval" in out


def test_check_says_how_idle_is_renewed_against_dovecot_and_an_unknown_server(
    dovecot_factory: Callable[..., DovecotServer], smtp_server: Any, tmp_path: Path
) -> None:
    for name in ("known", "anonymous", "set"):
        (tmp_path / name).mkdir()
    known = dovecot_factory()
    config = _config(tmp_path / "known", known, smtp_server, idle=True)
    out = cli(config, "check").stdout
    assert (
        "waiting for mail: IDLE, renewed every 0.25 s (auto: Dovecot holds an IDLE announcement 500 ms" in out
    )

    # The same server without its name in ID or greeting: nothing known, plain IDLE.
    anonymous = dovecot_factory(extra_config="imap_id_send =\nlogin_greeting = Mail service ready.\n")
    config = _config(tmp_path / "anonymous", anonymous, smtp_server, idle=True)
    out = cli(config, "check").stdout
    assert "waiting for mail: IDLE, renewed every 5 s (auto)" in out

    config = _config(tmp_path / "set", known, smtp_server, idle=True, idle_timeout="2s")
    assert "waiting for mail: IDLE, renewed every 2 s\n" in cli(config, "check").stdout + "\n"


def _folders(server: DovecotServer) -> list[str]:
    with server.client() as client:
        return sorted(name for _flags, _delimiter, name in client.list_folders())
