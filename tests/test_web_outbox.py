"""The outbox in the staff web app (Starlette's TestClient over the real store, a real
SMTP server; the browser test drives it in Chromium): mail the relay refused for good is
listed with the server's answer, the queue says so, agents see it read-only, and a
supervisor sends it again once the cause is fixed — the daemon's next cycle delivers
it. Every decision is in the audit log."""

from __future__ import annotations

import json
import re
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from helpers import cli, cli_json, complaint, write_config
from webapp import (
    WEB_TEST_SETTINGS,
    add_staff,
    audit_outcomes,
    browser_page,
    csrf_of,
    sign_in_browser,
    signed_in_client,
    web_server,
)

from inbox_agent.domain.outbox import FAILED, PENDING
from inbox_agent.views.outbox import outbox_rows

CUSTOMER = "kunde@example.com"


@pytest.fixture
def desk(smtp_server: Any, tmp_path: Path) -> dict[str, Any]:
    """One acknowledgement the relay refused for good (550 at RCPT); a supervisor and
    an agent."""
    maildir = tmp_path / "maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "new" / "1.mail").write_bytes(
        complaint(CUSTOMER, "Payment failed", "Error E1023 on my transfer.")
    )
    config = write_config(
        tmp_path, maildir=maildir, smtp=smtp_server, overrides={"web": dict(WEB_TEST_SETTINGS)}
    )
    smtp_server.refuse_recipient = CUSTOMER
    assert cli(config, "run", "--once").returncode == 0
    (failed,) = cli_json(config, "outbox", "list", "--failed")
    add_staff(config, "alice", "supervisor")
    add_staff(config, "bob", "agent")
    return {"config": config, "data": tmp_path / "data", "entry": failed, "smtp": smtp_server}


def _signed_in(desk: dict[str, Any], name: str) -> Any:
    return signed_in_client(desk["config"], name)


def _retry(client: Any, outbox_id: str) -> Any:
    return client.post(f"/outbox/{outbox_id}/retry", data={"csrf": csrf_of(client.get("/outbox").text)})


def _audit(desk: dict[str, Any]) -> list[tuple[str, str, str]]:
    return audit_outcomes(desk["data"], "outbox")


def test_an_agent_sees_failed_mail_with_the_servers_answer_but_may_not_send_it(desk: dict[str, Any]) -> None:
    outbox_id = desk["entry"]["outbox_id"]
    bob = _signed_in(desk, "bob")
    queue = bob.get("/").text  # nothing sends failed mail on its own: the queue says so
    assert re.search(r'id="outbox-banner".*?<a href="/outbox">1 mail to customers failed</a>', queue)
    html = bob.get("/outbox").text
    assert outbox_id in html and CUSTOMER in html and desk["entry"]["case_id"] in html
    assert "550 5.1.1 No such user here" in html and "failed" in html
    assert 'action="/outbox/' not in html and "Only a supervisor sends failed mail again" in html

    assert _retry(bob, outbox_id).status_code == 403
    # Without the form's token nothing is even tried.
    assert bob.post(f"/outbox/{outbox_id}/retry").status_code == 403
    assert cli_json(desk["config"], "outbox", "list", "--failed")[0]["outbox_id"] == outbox_id
    assert _audit(desk) == [("bob", outbox_id, "forbidden")]


def test_a_supervisor_sends_failed_mail_again_and_the_next_cycle_delivers_it(desk: dict[str, Any]) -> None:
    outbox_id, case_id = desk["entry"]["outbox_id"], desk["entry"]["case_id"]
    alice = _signed_in(desk, "alice")
    assert f'action="/outbox/{outbox_id}/retry"' in alice.get("/outbox").text
    desk["smtp"].refuse_recipient = ""  # the cause is fixed: the mailbox exists again

    response = _retry(alice, outbox_id)
    assert response.status_code == 303 and response.headers["location"] == "/outbox?done=retry"
    after = alice.get("/outbox").text
    assert re.search(rf'id="outbox-message"[^>]*>{re.escape(outbox_id)} put back in the outbox', after)
    assert "No mail has failed or is being retried." in after
    (entry,) = cli_json(desk["config"], "outbox", "list")
    assert entry["status"] == PENDING and entry["attempts"] == 0
    events = [e for e in cli_json(desk["config"], "show", case_id)["events"] if e["kind"] == "mail_retried"]
    assert [event["actor"] for event in events] == ["alice"] and "550" in events[0]["detail"]
    assert _audit(desk) == [("alice", outbox_id, "ok")]

    assert cli(desk["config"], "run", "--once").returncode == 0
    (mail,) = desk["smtp"].wait_for(1, timeout=30)
    assert mail.rcpt_tos == (CUSTOMER,)
    assert cli_json(desk["config"], "outbox", "list") == []
    assert 'id="outbox-banner"' not in alice.get("/").text


def test_a_retry_that_cannot_be_done_is_refused_with_its_reason(desk: dict[str, Any]) -> None:
    outbox_id = desk["entry"]["outbox_id"]
    alice = _signed_in(desk, "alice")
    unknown = "WLT-2026-999999.ack_first.0000000000000000"
    refused = _retry(alice, unknown)
    assert refused.status_code == 400 and "no such outbox mail" in refused.text
    assert _retry(alice, "..%2F..%2Fetc").status_code == 404
    assert _retry(alice, outbox_id).status_code == 303
    twice = _retry(alice, outbox_id)  # pending now: the daemon tries it on its own
    assert twice.status_code == 400 and "not failed" in twice.text
    assert _audit(desk) == [
        ("alice", unknown, "refused"),
        ("alice", outbox_id, "ok"),
        ("alice", outbox_id, "refused"),
    ]


def test_after_a_mass_failure_a_supervisor_sends_every_failed_mail_again_at_once(
    desk: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("inbox_agent.services.web_outbox.PAGE_ROWS", 2)  # a long page, cut
    maildir = desk["config"].parent / "maildir"
    for n in (2, 3):
        (maildir / "new" / f"{n}.mail").write_bytes(
            complaint(CUSTOMER, f"Refund {n} missing", "Still no refund.")
        )
    assert cli(desk["config"], "run", "--once").returncode == 0
    failed = {entry["outbox_id"] for entry in cli_json(desk["config"], "outbox", "list", "--failed")}
    assert len(failed) == 3
    bob, alice = _signed_in(desk, "bob"), _signed_in(desk, "alice")
    assert 'action="/outbox/retry-all"' not in bob.get("/outbox").text
    token = csrf_of(bob.get("/outbox").text)
    assert bob.post("/outbox/retry-all", data={"csrf": token}).status_code == 403
    cut = alice.get("/outbox").text
    assert "Send all 3 failed mails again" in cut and "The 2 oldest of 3 are shown" in cut
    assert len(re.findall(r'<tr id="o-', cut)) == 2

    response = alice.post("/outbox/retry-all", data={"csrf": csrf_of(alice.get("/outbox").text)})
    assert response.status_code == 303
    assert "3 failed mails put back in the outbox" in alice.get("/outbox").text
    assert {e["status"] for e in cli_json(desk["config"], "outbox", "list")} == {PENDING}
    lines = (desk["data"] / "web-audit.log").read_text().splitlines()
    (done,) = [e for e in map(json.loads, lines) if e["event"] == "outbox" and e["outcome"] == "ok"]
    assert done["user"] == "alice" and done["action"] == "retry_all" and set(done["mails"]) == failed
    nothing_left = alice.post("/outbox/retry-all", data={"csrf": csrf_of(alice.get("/outbox").text)})
    assert nothing_left.status_code == 400 and "nothing to retry" in nothing_left.text


def test_the_rows_mask_and_order_what_the_server_answered() -> None:
    card = "4111 1111 1111 1111"
    entries = [
        {"outbox_id": "b", "case_id": "C2", "kind": "ack_first", "recipients": ["x@example.com"],
         "status": PENDING, "attempts": 2, "queued_at": "2026-12-01T09:00:00+00:00",
         "next_attempt_at": "2026-12-01T09:10:00+00:00", "last_error": "421 try later"},
        {"outbox_id": "a", "case_id": "C1", "kind": "staff_reply", "recipients": ["y@example.com"],
         "status": FAILED, "attempts": 1, "queued_at": "2026-12-01T10:00:00+00:00",
         "next_attempt_at": "2026-12-01T10:00:00+00:00",
         "last_error": f"554 rejected: message quoted\n card {card} <script>"},
        {"outbox_id": "c", "case_id": "C3", "kind": "ack_first", "recipients": ["z@example.com"],
         "status": PENDING, "attempts": 0, "queued_at": "2026-12-01T10:00:00+00:00",
         "next_attempt_at": "2026-12-01T10:00:00+00:00", "last_error": ""},
    ]  # fmt: skip
    rows = outbox_rows(entries, UTC)
    assert [row.outbox_id for row in rows] == ["a", "b"]  # failed first; "c" only waits
    assert card not in rows[0].error and "[card ****1111]" in rows[0].error
    assert "\n" not in rows[0].error and rows[0].next_attempt == ""
    assert rows[1].next_attempt == "2026-12-01 09:10"


def test_a_supervisor_sends_failed_mail_again_in_chromium(desk: dict[str, Any], tmp_path: Path) -> None:
    outbox_id = desk["entry"]["outbox_id"]
    with web_server(desk["config"]) as base, browser_page(tmp_path / "profile") as page:
        sign_in_browser(page, base, "alice")
        page.click("#outbox-banner a")
        page.wait_for_url(f"{base}/outbox")
        page.locator(f"[id='o-{outbox_id}']").locator("button", has_text="Send again").click()
        page.wait_for_selector("#outbox-message")
        assert "put back in the outbox" in page.inner_text("#outbox-message")
        assert page.locator(f"[id='o-{outbox_id}']").count() == 0
    assert cli_json(desk["config"], "outbox", "list")[0]["status"] == PENDING
