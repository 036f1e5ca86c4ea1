"""The quarantine in the staff web app (Starlette's TestClient over the real store and
services; the browser test drives it in Chromium): agents see it read-only, a
supervisor retries a mail once its fault is fixed or drops junk with a reason; every
decision is in the audit log, and what the page shows is masked and escaped."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from helpers import ROOT, cli, cli_json, complaint, write_config
from hypothesis import given, settings
from hypothesis import strategies as st
from webapp import (
    WEB_TEST_SETTINGS,
    add_staff,
    app_client,
    browser_page,
    csrf_of,
    sign_in,
    sign_in_browser,
    web_server,
)

from inbox_agent.views.quarantine import SHOWN_CHARS, header_summary

CUSTOMER = "lin@example.com"
CARD = "4111 1111 1111 1111"
SUBJECT = f"Card {CARD} charged twice <script>alert(1)</script>"
JUNK_MARKER = b"junk-marker-7Q2"
JUNK = b"\x00\x01 this is not a mail " + JUNK_MARKER


@pytest.fixture
def desk(tmp_path: Path) -> dict[str, Any]:
    """A complaint quarantined at `acknowledge` (its template is broken) and junk
    quarantined at `parse`; a supervisor and an agent."""
    templates = tmp_path / "templates"
    shutil.copytree(ROOT / "inbox_agent" / "mail" / "templates", templates)
    good = (templates / "ack_first.en.txt.j2").read_text()
    (templates / "ack_first.en.txt.j2").write_text(good + "{{ no_such_variable }}")
    maildir = tmp_path / "maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "new" / "1.mail").write_bytes(
        complaint(CUSTOMER, SUBJECT, "You charged me twice for $20.00, transaction id TX55512345.")
    )
    (maildir / "new" / "2.mail").write_bytes(JUNK)
    config = write_config(
        tmp_path,
        maildir=maildir,
        overrides={"templates": {"dir": str(templates)}, "web": dict(WEB_TEST_SETTINGS)},
    )
    assert cli(config, "run", "--once").returncode == 0
    entries = {entry["stage"]: entry for entry in cli_json(config, "quarantine")}
    assert set(entries) == {"acknowledge", "parse"}
    add_staff(config, "alice", "supervisor")
    add_staff(config, "bob", "agent")
    return {
        "config": config,
        "data": tmp_path / "data",
        "template": (templates / "ack_first.en.txt.j2", good),
        "complaint": entries["acknowledge"]["id"],
        "junk": entries["parse"]["id"],
    }


def _signed_in(desk: dict[str, Any], name: str) -> Any:
    client = app_client(desk["config"])
    assert sign_in(client, name).status_code == 303
    return client


def _post(client: Any, path: str, **data: str) -> Any:
    return client.post(path, data={"csrf": csrf_of(client.get("/quarantine").text), **data})


def _audit(desk: dict[str, Any]) -> list[dict[str, Any]]:
    lines = (desk["data"] / "web-audit.log").read_text().splitlines()
    return [entry for entry in map(json.loads, lines) if entry["event"] == "quarantine"]


def _files_holding(folder: Path, needle: bytes) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file() and needle in path.read_bytes()]


def test_an_agent_sees_the_quarantine_masked_and_escaped_but_may_not_act(desk: dict[str, Any]) -> None:
    bob = _signed_in(desk, "bob")
    queue = bob.get("/").text  # the queue says so, and links to it
    assert re.search(r'id="quarantine-banner".*?<a href="/quarantine">2 mails in quarantine</a>', queue)
    page = bob.get("/quarantine")
    assert page.status_code == 200
    html = page.text
    assert desk["complaint"] in html and desk["junk"] in html
    assert CUSTOMER in html and "acknowledge" in html and "no_such_variable" in html
    assert CARD not in html and "[card ****1111]" in html  # the card number in the subject
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'action="/quarantine/' not in html  # no buttons for an agent
    assert "Only a supervisor retries or drops" in html

    for path, data in (
        (f"/quarantine/{desk['junk']}/drop", {"reason": "junk"}),
        (f"/quarantine/{desk['complaint']}/retry", {}),
    ):
        assert _post(bob, path, **data).status_code == 403
    assert len(cli_json(desk["config"], "quarantine")) == 2  # nothing happened
    assert [(e["user"], e["action"], e["outcome"]) for e in _audit(desk)] == [
        ("bob", "drop", "forbidden"),
        ("bob", "retry", "forbidden"),
    ]
    # Without the form's token nothing is even tried.
    assert bob.post(f"/quarantine/{desk['junk']}/drop", data={"reason": "junk"}).status_code == 403
    assert len(_audit(desk)) == 2


def test_a_supervisor_retries_a_fixed_mail_and_drops_junk_with_a_reason(desk: dict[str, Any]) -> None:
    alice = _signed_in(desk, "alice")
    config, complaint_id, junk_id = desk["config"], desk["complaint"], desk["junk"]

    still = _post(alice, f"/quarantine/{complaint_id}/retry")
    assert still.status_code == 400 and "still failing at acknowledge" in still.text
    path, good = desk["template"]
    path.write_text(good)  # ops fix the template
    retried = _post(alice, f"/quarantine/{complaint_id}/retry")
    assert retried.status_code == 303
    (case,) = cli_json(config, "cases")
    assert CUSTOMER not in retried.headers["location"]  # no personal data in the URL
    shown = alice.get(retried.headers["location"]).text
    assert f"{complaint_id} retried: new case {case['case_id']}" in shown
    assert case["customer"] == CUSTOMER  # filed as a new case
    status = json.loads(cli(config, "status", "--json").stdout)
    assert status["outbox_pending"] == 1  # its acknowledgement, for the daemon to send

    no_reason = _post(alice, f"/quarantine/{junk_id}/drop", reason="  ")
    assert no_reason.status_code == 400 and "say why" in no_reason.text
    unknown = _post(alice, "/quarantine/0123456789ab/drop", reason="junk")
    assert unknown.status_code == 400 and "no quarantine entry 0123456789ab" in unknown.text
    assert _post(alice, "/quarantine/not-an-id/drop", reason="junk").status_code == 404
    assert _files_holding(desk["data"] / "raw", JUNK_MARKER)

    dropped = _post(alice, f"/quarantine/{junk_id}/drop", reason="binary junk, not a mail")
    assert dropped.status_code == 303
    assert cli_json(config, "quarantine") == []
    (record,) = cli_json(config, "quarantine", "--dropped")
    assert (record["id"], record["dropped_by"], record["drop_reason"]) == (
        junk_id,
        "alice",
        "binary junk, not a mail",
    )
    assert _files_holding(desk["data"], JUNK_MARKER) == []  # erased, logs included
    page = alice.get("/quarantine").text
    assert "Nothing is quarantined." in page and "quarantine-banner" not in alice.get("/").text
    dropped_table = re.search(r'<table class="queue dropped" id="dropped">(.*?)</table>', page, re.S)
    assert (
        dropped_table
        and junk_id in dropped_table.group(1)
        and "binary junk, not a mail" in dropped_table.group(1)
    )
    assert cli(config, "verify").returncode == 0

    assert [(e["action"], e["entry"], e["outcome"]) for e in _audit(desk)] == [
        ("retry", complaint_id, "still failing"),
        ("retry", complaint_id, "ok"),
        ("drop", junk_id, "refused"),
        ("drop", "0123456789ab", "refused"),
        ("drop", junk_id, "ok"),
    ]
    assert all(entry["user"] == "alice" and entry["client"] for entry in _audit(desk))


def test_a_mail_too_large_to_download_is_shown_as_such_and_dropped_without_bytes(tmp_path: Path) -> None:
    maildir = tmp_path / "maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "new" / "1.mail").write_bytes(complaint(CUSTOMER, "Huge", "x" * 40_000))
    overrides = {"mailbox": {"max_message_size": "20KB"}, "web": dict(WEB_TEST_SETTINGS)}
    config = write_config(tmp_path, maildir=maildir, overrides=overrides)
    assert cli(config, "run", "--once").returncode == 0
    (entry,) = cli_json(config, "quarantine")
    assert entry["raw_sha256"] == ""
    add_staff(config, "alice", "supervisor")
    alice = app_client(config)
    assert sign_in(alice, "alice").status_code == 303
    row = re.search(rf'<tr id="q-{entry["id"]}">(.*?)</tr>', alice.get("/quarantine").text, re.S)
    assert row and "(not downloaded: too large)" in row.group(1)
    assert f"/quarantine/{entry['id']}/retry" not in row.group(1)  # nothing to run again
    dropped = _post(alice, f"/quarantine/{entry['id']}/drop", reason="an attachment sent by mistake")
    assert dropped.status_code == 303
    assert "it was never downloaded" in alice.get(dropped.headers["location"]).text
    assert cli_json(config, "quarantine") == []


@pytest.mark.dovecot
def test_a_supervisor_drops_junk_in_chromium(desk: dict[str, Any], tmp_path: Path) -> None:
    with web_server(desk["config"]) as base, browser_page(tmp_path / "profile") as page:
        sign_in_browser(page, base, "alice")
        page.click("a.nav[href='/quarantine']")
        page.wait_for_url(f"{base}/quarantine")
        row = page.locator(f"#q-{desk['junk']}")
        row.locator("input[name=reason]").fill("a test mail from ops")
        row.locator("button", has_text="Drop").click()
        page.wait_for_selector("#quarantine-message")
        assert "dropped" in page.inner_text("#quarantine-message")
        assert page.locator(f"#q-{desk['junk']}").count() == 0
        assert "a test mail from ops" in page.inner_text("#dropped")
        assert page.locator(f"#q-{desk['complaint']}").count() == 1


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=3000) | st.text(max_size=600).map(lambda text: text.encode("utf-8", "surrogatepass"))
)
def test_any_header_block_gives_a_short_one_line_summary_never_an_error(raw: bytes) -> None:
    sender, subject = header_summary(b"From: " + raw + b"\r\nSubject: " + raw[::-1] + b"\r\n\r\nbody")
    for shown in (sender, subject):
        assert len(shown) <= SHOWN_CHARS and "\n" not in shown and "\r" not in shown


def test_a_drop_done_but_not_audited_is_not_shown_as_failed(
    desk: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from inbox_agent.adapters.audit_log import AuditLogFile

    real = AuditLogFile.record

    def full_disk_after_the_drop(self: AuditLogFile, entry: dict[str, Any]) -> None:
        if entry.get("outcome") == "ok":
            raise OSError(28, "No space left on device", str(self.path))
        real(self, entry)

    alice = _signed_in(desk, "alice")
    monkeypatch.setattr(AuditLogFile, "record", full_disk_after_the_drop)
    dropped = _post(alice, f"/quarantine/{desk['junk']}/drop", reason="junk")
    assert dropped.status_code == 303, dropped.text[:300]
    page = alice.get(dropped.headers["location"]).text
    assert f"Drop of {desk['junk']}: It is done" in page and "do not repeat" in page
    assert len(cli_json(desk["config"], "quarantine")) == 1  # dropped: only the complaint is left
