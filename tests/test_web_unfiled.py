"""Mail kept on no case in the staff web app (Starlette's TestClient over the real store
and services; one test drives it in Chromium): agents see it read-only, masked and
escaped; a supervisor files a complaint taken for an auto-reply, which gets a case and
an answer; a bounce is never filed; every decision is in the audit log."""

from __future__ import annotations

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

CARD = "4111 1111 1111 1111"
AWAY = complaint(
    "bob@acme.example",
    "Automatic reply: card charged twice",
    f"You charged my card {CARD} twice for $20.00. <script>alert(1)</script>",
    headers={"Auto-Submitted": "auto-generated"},  # his mail client marks every mail so
)
BOUNCE = complaint(
    "MAILER-DAEMON@mx.acme.example", "Undelivered Mail Returned to Sender", "Could not deliver."
)
LISTED = complaint(
    "news@shop.example", "Offers", "Spring offers.", headers={"List-Id": "<offers.shop.example>"}
)


@pytest.fixture
def desk(tmp_path: Path) -> dict[str, Any]:
    maildir = tmp_path / "maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for name, raw in (("1.mail", AWAY), ("2.mail", BOUNCE), ("3.mail", LISTED)):
        (maildir / "new" / name).write_bytes(raw)
    config = write_config(tmp_path, maildir=maildir, overrides={"web": dict(WEB_TEST_SETTINGS)})
    assert cli(config, "run", "--once").returncode == 0
    kept = {entry["sender"]: entry["id"] for entry in cli_json(config, "unfiled")}
    add_staff(config, "alice", "supervisor")
    add_staff(config, "bob", "agent")
    return {
        "config": config,
        "data": tmp_path / "data",
        "away": kept["bob@acme.example"],
        "bounce": kept["mailer-daemon@mx.acme.example"],
    }


def _file(client: Any, entry_id: str) -> Any:
    return client.post(f"/unfiled/{entry_id}/file", data={"csrf": csrf_of(client.get("/unfiled").text)})


def test_an_agent_sees_kept_mail_masked_and_escaped_but_may_not_file_it(desk: dict[str, Any]) -> None:
    bob = signed_in_client(desk["config"], "bob")
    html = bob.get("/unfiled").text
    assert desk["away"] in html and desk["bounce"] in html and "news@shop.example" in html
    assert "auto_reply 1" in html and "bounce 1" in html and "list 1" in html
    assert CARD not in html and "[card ****1111]" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert 'action="/unfiled/' not in html and "Only a supervisor files" in html
    assert _file(bob, desk["away"]).status_code == 403
    assert cli_json(desk["config"], "cases") == []
    assert audit_outcomes(desk["data"], "unfiled") == [("bob", desk["away"], "forbidden")]
    # One reason at a time; a reason that is no word is refused.
    listed = bob.get("/unfiled?reason=list").text
    assert "news@shop.example" in listed and desk["away"] not in listed
    assert bob.get("/unfiled?reason=%3Cb%3E").status_code == 404


def test_a_supervisor_files_a_complaint_and_never_a_bounce(desk: dict[str, Any]) -> None:
    alice = signed_in_client(desk["config"], "alice")
    page = alice.get("/unfiled").text
    assert f'action="/unfiled/{desk["away"]}/file"' in page
    assert f'action="/unfiled/{desk["bounce"]}/file"' not in page and "delivery report" in page

    done = _file(alice, desk["away"])
    assert done.status_code == 303 and done.headers["location"] == "/unfiled?done=file"
    (case,) = cli_json(desk["config"], "cases")
    assert case["customer"] == "bob@acme.example" and case["category"] == "wrong_charge"
    after = alice.get("/unfiled").text
    assert f"filed on {case['case_id']}" in after and f'id="u-{desk["away"]}"' not in after

    refused = _file(alice, desk["bounce"])  # the button is not there; the form is refused too
    assert refused.status_code == 400 and "nobody to answer" in refused.text
    assert audit_outcomes(desk["data"], "unfiled") == [
        ("alice", desk["away"], "ok"),
        ("alice", desk["bounce"], "refused"),
    ]
    assert cli(desk["config"], "verify").returncode == 0


@pytest.mark.dovecot
def test_a_supervisor_files_a_complaint_in_chromium(desk: dict[str, Any], tmp_path: Path) -> None:
    with web_server(desk["config"]) as base, browser_page(tmp_path / "profile") as page:
        sign_in_browser(page, base, "alice")
        page.click("a.nav[href='/unfiled']")
        page.wait_for_url(f"{base}/unfiled")
        page.locator(f"#u-{desk['away']}").locator("button", has_text="File as complaint").click()
        page.wait_for_selector("#unfiled-message")
        assert "filed on WLT-" in page.inner_text("#unfiled-message")
        assert page.locator(f"#u-{desk['away']}").count() == 0
        assert page.locator(f"#u-{desk['bounce']}").count() == 1
