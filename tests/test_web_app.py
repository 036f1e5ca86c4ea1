"""The staff web app in process (Starlette's TestClient over the real store and services):
CSRF, roles, lock-out, cookies, headers, attachments, filters and the audit log."""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from helpers import cli, cli_json, complaint, write_config
from markupsafe import escape
from webapp import (
    PASSWORD,
    WEB_TEST_SETTINGS,
    add_staff,
    add_staff_cli,
    app_client,
    csrf_of,
    sign_in,
    web_deps,
)

from inbox_agent.entrypoints.web.security import CSP
from inbox_agent.services.staff_auth import unknown_name_tag

CUSTOMER = "emma@example.com"


def _maildir(folder: Path) -> Path:
    for sub in ("new", "cur", "tmp"):
        (folder / "maildir" / sub).mkdir(parents=True, exist_ok=True)
    return folder / "maildir"


def _with_attachments() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Lee <lee@example.com>"
    msg["To"] = "complaints@wallet.example"
    msg["Subject"] = "Payment failed"
    msg["Message-ID"] = "<lee-1@example.com>"
    msg.set_content("My payment failed with error E1234 on 2026-11-19, transaction id TX99887766.")
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    msg.add_attachment(png, maintype="image", subtype="png", filename="screen.png")
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    msg.add_attachment(svg, maintype="image", subtype="svg+xml", filename="pic.svg")
    return msg.as_bytes()


@pytest.fixture
def site(tmp_path: Path) -> dict[str, Any]:
    maildir = _maildir(tmp_path)
    (maildir / "new" / "1.eml").write_bytes(
        complaint(CUSTOMER, "Charged twice", "You charged me twice for $128.00, transaction id TX12345678.")
    )
    (maildir / "new" / "2.eml").write_bytes(_with_attachments())
    config = write_config(tmp_path, maildir=maildir, overrides={"web": dict(WEB_TEST_SETTINGS)})
    ran = cli(config, "run", "--once")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    cases = {case["customer"]: case["case_id"] for case in cli_json(config, "cases")}
    add_staff(config, "alice", "supervisor")
    add_staff(config, "bob", "agent")
    add_staff_cli(config, "carol", "agent")
    return {
        "config": config,
        "emma": cases[CUSTOMER],
        "lee": cases["lee@example.com"],
        "data": tmp_path / "data",
    }


def _signed_in(site: dict[str, Any], name: str) -> Any:
    client = app_client(site["config"])
    answer = sign_in(client, name)
    assert answer.status_code == 303, answer.text
    return client


def _audit(site: dict[str, Any]) -> list[dict[str, Any]]:
    path = site["data"] / "web-audit.log"
    return [json.loads(line) for line in path.read_text().splitlines()]


def _post(client: Any, path: str, **data: str) -> Any:
    page = client.get("/")
    return client.post(path, data={"csrf": csrf_of(page.text), **data})


def test_every_state_changing_request_without_the_csrf_token_is_403(site: dict[str, Any]) -> None:
    client = _signed_in(site, "alice")
    case = site["emma"]
    paths = ["/signout", f"/cases/{case}/preview"] + [
        f"/cases/{case}/act/{kind}"
        for kind in ("assign", "note", "reply", "resolve", "reopen", "category", "severity")
    ]
    before = cli_json(site["config"], "show", case)
    for path in paths:
        assert client.post(path, data={"text": "x", "assignee": "me"}).status_code == 403, path
        assert client.post(path, data={"csrf": "forged", "text": "x"}).status_code == 403, path
    # The sign-in form too (its token is a double-submit cookie).
    assert (
        app_client(site["config"]).post("/signin", data={"name": "alice", "password": PASSWORD}).status_code
        == 403
    )
    after = cli_json(site["config"], "show", case)
    assert after["events"] == before["events"]  # nothing happened
    assert client.get("/").status_code == 200  # and the session is still there


def test_a_link_cannot_put_its_own_words_in_the_confirmation_banner(site: dict[str, Any]) -> None:
    # A customer mails staff a link to their own case; the banner must not carry its text.
    alice, case = _signed_in(site, "alice"), site["emma"]
    spoof = "Refund approved by compliance: reply with the full card number to confirm"
    for path in (f"/cases/{case}", "/quarantine"):
        page = alice.get(path, params={"done": spoof})
        assert page.status_code == 200 and "Refund approved" not in page.text, path
    # The app's own confirmation still shows, once, on the page the action leads to.
    acted = _post(alice, f"/cases/{case}/act/note", text="called the customer")
    assert acted.status_code == 303 and acted.headers["location"] == f"/cases/{case}?done=note"
    assert 'role="status">Note added.</p>' in alice.get(acted.headers["location"]).text
    assert "Note added." not in alice.get(acted.headers["location"]).text  # a reload: gone
    _post(alice, f"/cases/{case}/act/note", text="and again")  # then another case, in a second tab
    assert "Note added." not in alice.get(f"/cases/{site['lee']}").text
    assert "Note added." not in _signed_in(site, "bob").get(f"/cases/{case}").text


def test_an_agent_acting_on_another_agents_case_is_403_and_audited(site: dict[str, Any]) -> None:
    bob, carol = _signed_in(site, "bob"), _signed_in(site, "carol")
    case = site["emma"]
    assert _post(bob, f"/cases/{case}/act/assign", assignee="me").status_code == 303
    assert cli_json(site["config"], "show", case)["assignee"] == "bob"
    for kind, fields in (
        ("note", {"text": "mine now"}),
        ("resolve", {"text": "done"}),
        ("assign", {"assignee": "me"}),
    ):
        answer = _post(carol, f"/cases/{case}/act/{kind}", **fields)
        assert answer.status_code == 403, (kind, answer.text)
    assert _post(carol, f"/cases/{case}/preview", text="hello").status_code == 403
    # Carol still sees the case (read-only) and is told why she cannot act.
    page = carol.get(f"/cases/{case}")
    assert page.status_code == 200 and "only they or a supervisor" in page.text
    # An agent assigns to themselves only; a supervisor acts on every case.
    assert _post(carol, f"/cases/{site['lee']}/act/assign", assignee="bob").status_code == 403
    alice = _signed_in(site, "alice")
    assert _post(alice, f"/cases/{case}/act/note", text="checked by a supervisor").status_code == 303
    # A crafted form naming nobody with an account is refused (before: the case was
    # filed under that name, which nobody signs in as).
    refused = _post(alice, f"/cases/{site['lee']}/act/assign", assignee="nobody")
    assert refused.status_code != 303 and "no staff account" in refused.text
    assert cli_json(site["config"], "show", site["lee"])["assignee"] == ""
    assert _post(alice, f"/cases/{site['lee']}/act/assign", assignee="carol").status_code == 303
    shown = cli_json(site["config"], "show", case)
    assert [e["actor"] for e in shown["events"] if e["kind"] == "note"] == ["alice"]
    forbidden = [e for e in _audit(site) if e.get("outcome") == "forbidden"]
    assert {(e["user"], e["action"]) for e in forbidden} >= {("carol", "note"), ("carol", "resolve")}


def test_ten_wrong_passwords_lock_the_account_and_every_attempt_is_logged(site: dict[str, Any]) -> None:
    client = app_client(site["config"])
    for attempt in range(10):
        answer = sign_in(client, "bob", f"wrong-{attempt}")
        assert answer.status_code == 401
        assert "wrong name or password" in answer.text
    locked = sign_in(client, "bob", PASSWORD)  # the right password no longer helps
    assert locked.status_code == 401 and "locked" in locked.text
    entries = [e for e in _audit(site) if e["user"] == "bob"]
    assert [e["outcome"] for e in entries if e["event"] == "sign_in"] == ["failed"] * 10 + ["locked"]
    assert any(e["event"] == "account_locked" for e in entries)
    # `staff passwd` unlocks; the right password then works.
    done = cli(site["config"], "staff", "passwd", "bob", env={"INBOX_AGENT_STAFF_PASSWORD": PASSWORD + "!"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert sign_in(app_client(site["config"]), "bob", PASSWORD + "!").status_code == 303
    assert _audit(site)[-1]["outcome"] == "ok"


def test_removing_an_account_or_changing_its_password_ends_its_open_sessions(site: dict[str, Any]) -> None:
    # Someone leaves, or a password leaks: ops act from the CLI while the web app runs.
    bob, carol, case = _signed_in(site, "bob"), _signed_in(site, "carol"), site["emma"]
    token = csrf_of(bob.get("/").text)
    for attempt in range(10):  # a guesser locking bob out does not end his session
        sign_in(app_client(site["config"]), "bob", f"wrong-{attempt}")
    assert bob.get(f"/cases/{case}").status_code == 200
    new_password = {"INBOX_AGENT_STAFF_PASSWORD": PASSWORD + "!"}
    assert cli(site["config"], "staff", "passwd", "bob", env=new_password).returncode == 0
    assert cli(site["config"], "staff", "remove", "carol").returncode == 0
    for client in (bob, carol):
        assert client.get(f"/cases/{case}").headers["location"] == "/signin"
        answer = client.post(f"/cases/{case}/act/note", data={"csrf": token, "text": "still here?"})
        assert answer.status_code == 303 and answer.headers["location"] == "/signin"
        assert client.get("/queue/rows").status_code == 401
    notes = [e for e in cli_json(site["config"], "show", case)["events"] if e["kind"] == "note"]
    assert notes == []
    ended = [e["user"] for e in _audit(site) if e["event"] == "session_ended"]
    assert sorted(ended) == ["bob", "carol"]
    assert sign_in(bob, "bob", PASSWORD + "!").status_code == 303  # the new password works
    assert bob.get(f"/cases/{case}").status_code == 200


def test_unknown_names_are_refused_like_wrong_passwords(site: dict[str, Any]) -> None:
    answer = sign_in(app_client(site["config"]), "mallory", "whatever")
    assert answer.status_code == 401 and "wrong name or password" in answer.text
    assert _audit(site)[-1] == {
        **_audit(site)[-1],
        "outcome": "failed",
        "reason": "unknown user",
    }
    assert _audit(site)[-1]["user"].startswith("(no such account: 7 characters, #")


def test_a_password_typed_into_the_name_field_never_reaches_the_audit_log(site: dict[str, Any]) -> None:
    # People type their password where the name goes; the audit log is read more widely.
    for _ in range(2):
        sign_in(app_client(site["config"]), "Tr0ub4dor&3-horse", "whatever")
    log_text = (site["data"] / "web-audit.log").read_text(encoding="utf-8")
    assert "Tr0ub4dor" not in log_text
    tried = [entry["user"] for entry in _audit(site)[-2:]]
    assert tried[0] == tried[1]  # the same name tried twice still reads as one name
    assert tried[0] != unknown_name_tag("Tr0ub4dor&3-horsE")


def test_pages_need_a_session_and_carry_strict_headers(site: dict[str, Any]) -> None:
    anonymous = app_client(site["config"])
    assert anonymous.get("/").headers["location"] == "/signin"
    assert anonymous.get(f"/cases/{site['emma']}").status_code == 303
    assert anonymous.get("/version").status_code == 401
    client = _signed_in(site, "alice")
    for path in ("/", f"/cases/{site['emma']}", "/signin", "/static/web.js", "/cases/WLT-2026-999999"):
        headers = client.get(path).headers
        assert headers["content-security-policy"] == CSP, path
        assert "frame-ancestors 'none'" in CSP and "script-src 'self'" in CSP and "unsafe-inline" not in CSP
        assert headers["x-content-type-options"] == "nosniff"
    page = client.get("/").text
    assert "<script>" not in page and " on" not in re.sub(r"<[^>]*>", "", page)[:0]  # no inline script
    assert re.findall(r"<script[^>]*>", page) == ['<script src="/static/web.js" defer>']


def test_session_cookie_flags(site: dict[str, Any]) -> None:
    answer = sign_in(app_client(site["config"]), "alice")
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie.split(",")[0]
    # With secure_cookies (the default) the cookie is Secure and __Host- prefixed.
    text = site["config"].read_text().replace("secure_cookies = false", "secure_cookies = true")
    site["config"].write_text(text)
    answer = sign_in(app_client(site["config"], base_url="https://127.0.0.1"), "alice")
    first = answer.headers["set-cookie"].split(",")[0]
    assert first.startswith("__Host-inbox-agent=") and "Secure" in first


def test_plain_http_cookies_are_refused_off_loopback(site: dict[str, Any]) -> None:
    done = cli(site["config"], "web", "--host", "0.0.0.0", "--port", "1")
    assert done.returncode == 3
    assert "secure_cookies = false is only allowed on a loopback address" in done.stderr


def test_attachments_download_as_attachments_and_only_raster_images_preview(site: dict[str, Any]) -> None:
    client = _signed_in(site, "alice")
    case = site["lee"]
    page = client.get(f"/cases/{case}").text
    links = re.findall(rf'/cases/{case}/attachments/([^"]+)"', page)
    assert len(links) == 2
    for stored in links:
        answer = client.get(f"/cases/{case}/attachments/{stored}")
        assert answer.status_code == 200
        assert answer.headers["content-disposition"].startswith("attachment;")
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["content-type"] == "application/octet-stream"
    png = next(name for name in links if name.endswith(".png"))
    svg = next(name for name in links if name != png)
    assert client.get(f"/cases/{case}/images/{png}").headers["content-type"] == "image/png"
    assert client.get(f"/cases/{case}/images/{svg}").status_code == 404
    # Another case's file is not reachable through this case, nor a path.
    assert client.get(f"/cases/{site['emma']}/attachments/{png}").status_code == 404
    assert client.get(f"/cases/{case}/attachments/..%2Fstate.json").status_code == 404


def test_queue_filters_search_and_clear_errors(site: dict[str, Any]) -> None:
    client = _signed_in(site, "alice")
    assert site["emma"] in client.get("/?q=tx12345678").text
    assert site["lee"] not in client.get("/?q=tx12345678").text
    assert site["lee"] in client.get("/?q=TX99887766").text
    assert site["emma"] in client.get(f"/?q={site['emma']}").text
    assert "No case matches." in client.get("/?category=privacy").text
    bad = client.get("/?level=9")
    assert bad.status_code == 400 and "unknown level" in bad.text
    assert client.get("/?page=abc").status_code == 400


def test_reply_needs_the_previewed_text_and_is_recorded_with_the_user(site: dict[str, Any]) -> None:
    client = _signed_in(site, "bob")
    case = site["emma"]
    preview = _post(client, f"/cases/{case}/preview", text="We refunded the second charge.")
    assert preview.status_code == 200
    digest = re.search(r'name="digest" value="([^"]+)"', preview.text).group(1)
    shown = re.search(r'<pre class="text" id="preview-text">(.*?)</pre>', preview.text, re.S).group(1)
    assert "We refunded the second charge." in shown
    # A text other than the previewed one is refused.
    other = _post(client, f"/cases/{case}/act/reply", text="Something else", digest=digest)
    assert other.status_code == 400 and "changed since its preview" in other.text
    sent = _post(client, f"/cases/{case}/act/reply", text="We refunded the second charge.", digest=digest)
    assert sent.status_code == 303
    shown_case = cli_json(site["config"], "show", case)
    assert [e["actor"] for e in shown_case["events"] if e["kind"] == "staff_reply"] == ["bob"]
    assert shown_case["awaiting_since"] == ""
    page = client.get(f"/cases/{case}").text
    assert "queued, not sent yet" in page and "stopped: nobody is waiting for us" in page
    assert _audit(site)[-1] | {"action": "reply", "user": "bob", "outcome": "ok"} == _audit(site)[-1]

    # A second click, or the form sent again: refused, the customer gets the reply once.
    again = _post(client, f"/cases/{case}/act/reply", text="We refunded the second charge.", digest=digest)
    assert again.status_code == 400 and "conversation changed since its preview" in again.text
    replies = [e for e in cli_json(site["config"], "show", case)["events"] if e["kind"] == "staff_reply"]
    assert len(replies) == 1


def test_category_and_severity_changes_go_through_the_services(site: dict[str, Any]) -> None:
    client = _signed_in(site, "alice")
    case = site["emma"]
    assert _post(client, f"/cases/{case}/act/category", value="funds_not_received").status_code == 303
    assert _post(client, f"/cases/{case}/act/severity", value="urgent").status_code == 303
    shown = cli_json(site["config"], "show", case)
    assert shown["category"] == "funds_not_received" and shown["severity"] == "urgent"
    kinds = [(e["kind"], e["actor"]) for e in shown["events"]]
    assert ("recategorized", "alice") in kinds and ("severity_changed", "alice") in kinds
    corrections = list((site["data"]).rglob("*correction*"))
    assert corrections, "the category correction is kept for training"
    again = _post(client, f"/cases/{case}/act/severity", value="urgent")
    assert again.status_code == 400 and "already urgent" in again.text


def test_the_case_page_says_what_we_sent_in_words(site: dict[str, Any]) -> None:
    client = _signed_in(site, "alice")
    page = client.get(f"/cases/{site['emma']}").text
    assert "We sent: first acknowledgement" in page
    assert "ack_first" not in page
    # No raw Message-ID (ours end in @wallet.example, the customer's in @customer.example).
    assert "wallet.example&gt;" not in page and "customer.example&gt;" not in page
    assert "Thank you for writing to us" in page  # the text as sent


def test_staff_accounts_cli(site: dict[str, Any]) -> None:
    short = cli(site["config"], "staff", "add", "dave", env={"INBOX_AGENT_STAFF_PASSWORD": "short"})
    assert short.returncode == 1 and "at least 12 characters" in short.stdout
    twice = cli(site["config"], "staff", "add", "bob", env={"INBOX_AGENT_STAFF_PASSWORD": PASSWORD})
    assert twice.returncode == 1 and "exists already" in twice.stdout
    listed = cli(site["config"], "staff", "list")
    assert re.search(r"alice\s+supervisor", listed.stdout) and re.search(r"carol\s+agent", listed.stdout)
    stored = (site["data"] / "staff-accounts.json").read_text()
    assert PASSWORD not in stored and "$argon2id$" in stored
    assert (site["data"] / "staff-accounts.json").stat().st_mode & 0o077 == 0
    assert cli(site["config"], "staff", "remove", "carol").returncode == 0
    assert sign_in(app_client(site["config"]), "carol").status_code == 401


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("\u202eecila", "letters, digits"),  # a bidi override: shows as "alice" reversed
        ("bob\u200b", "letters, digits"),  # a zero-width space: looks like "bob"
        ("<b>x</b>", "letters, digits"),
        ("x" * 65, "1 to 64 characters"),
        ("Alice", "looks like the account alice"),
        ("ca\u0440ol", "mixes Latin letters with Cyrillic"),  # Cyrillic "р"
        ("\uff41lice", "looks like the account alice"),  # full-width "ａ"
    ],
)
def test_a_staff_name_that_could_pass_for_someone_else_is_refused(
    site: dict[str, Any], name: str, why: str
) -> None:
    from inbox_agent.services.staff_auth import AccountError

    with pytest.raises(AccountError, match=why):
        add_staff(site["config"], name)


def test_staff_names_in_other_scripts_and_a_script_without_a_password(site: dict[str, Any]) -> None:
    add_staff(site["config"], "王芳")
    add_staff(site["config"], "li.wei-2@ops")
    # No terminal and no $INBOX_AGENT_STAFF_PASSWORD (a script, cron): a clear refusal,
    # not a traceback.
    # A new session: no controlling terminal for getpass to open, as under cron.
    done = subprocess.run(
        [sys.executable, "-m", "inbox_agent", "--config", str(site["config"]), "staff", "add", "zed"],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env={k: v for k, v in os.environ.items() if k != "INBOX_AGENT_STAFF_PASSWORD"},
    )
    assert done.returncode == 1 and "no password given" in done.stdout and "Traceback" not in done.stderr


def test_proxy_identity_only_from_trusted_proxies(site: dict[str, Any]) -> None:
    from starlette.testclient import TestClient

    from inbox_agent.config.loader import load_config
    from inbox_agent.entrypoints.web.app import create_app

    text = (
        site["config"]
        .read_text()
        .replace("[web]\n", '[web]\ntrusted_proxies = ["10.0.0.5"]\nproxy_user_header = "X-Remote-User"\n')
    )
    site["config"].write_text(text)
    app = create_app(web_deps(load_config(site["config"])))

    def client(address: str) -> Any:
        return TestClient(app, base_url="http://127.0.0.1", follow_redirects=False, client=(address, 40000))

    proxied = client("10.0.0.5").get("/", headers={"X-Remote-User": "alice"})
    assert proxied.status_code == 200 and "alice" in proxied.text
    forged = client("10.0.0.9").get("/", headers={"X-Remote-User": "alice"})
    assert forged.status_code == 303 and forged.headers["location"] == "/signin"
    unknown = client("10.0.0.5").get("/", headers={"X-Remote-User": "mallory"})
    assert unknown.status_code == 303
    assert any(e.get("via") == "proxy header" and e["user"] == "mallory" for e in _audit(site))


def test_customer_secrets_are_masked_on_the_case_page_and_our_text_is_not_garbled(
    site: dict[str, Any],
) -> None:
    maildir = site["data"].parent / "maildir"
    card = "4111 1111 1111 1111"
    (maildir / "new" / "3.eml").write_bytes(
        complaint(
            "zoe@example.com",
            f"Someone used my card {card}",
            f"My account was hacked, card {card}, password Secret123 was changed.",
        )
    )
    ran = cli(site["config"], "run", "--once")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    case_id = next(
        c["case_id"] for c in cli_json(site["config"], "cases") if c["customer"] == "zoe@example.com"
    )
    client = _signed_in(site, "alice")
    page = client.get(f"/cases/{case_id}").text
    assert card not in page and "Secret123" not in page
    assert "We sent: first acknowledgement" in page
    raw_ack = (site["data"].parent / "outbox").glob("*.eml")
    sent_lines = [
        line
        for path in raw_ack
        if case_id in path.read_text(errors="replace")
        for line in _plain_text(path.read_bytes()).splitlines()
        if "password" in line.lower() and card not in line
    ]
    for line in sent_lines:  # our own template lines mentioning "password" appear as sent
        assert str(escape(line)) in page, line


def _plain_text(raw: bytes) -> str:
    import email
    import email.policy

    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    body = parsed.get_body(preferencelist=("plain",))  # type: ignore[attr-defined]
    return body.get_content() if body is not None else ""


def test_many_attempts_from_one_address_get_429(site: dict[str, Any]) -> None:
    client = app_client(site["config"])
    answers = [sign_in(client, f"nobody{n}", "x").status_code for n in range(31)]
    assert answers[:30] == [401] * 30 and answers[30] == 429


def test_regulatory_deadlines_in_the_queue_and_on_the_case(tmp_path: Path) -> None:
    maildir = _maildir(tmp_path)
    (maildir / "new" / "1.eml").write_bytes(
        complaint(
            CUSTOMER, "Transfer missing", "My transfer of 50 EUR never arrived, transaction id TX55554444."
        )
    )
    config = write_config(
        tmp_path,
        maildir=maildir,
        overrides={"web": dict(WEB_TEST_SETTINGS), "regulatory": {"default": "PSD2"}},
    )
    assert cli(config, "run", "--once").returncode == 0
    (case,) = [c["case_id"] for c in cli_json(config, "cases")]
    add_staff(config, "alice", "supervisor")
    client = app_client(config)
    assert sign_in(client, "alice").status_code == 303
    queue = client.get("/?regulatory_deadline=1&sort=deadline").text
    assert case in queue
    row = re.search(rf"{case}.*?</tr>", queue, re.S).group(0)
    assert re.search(r"(holding|substantive) \d{4}-\d\d-\d\d \d\d:\d\d Europe/Berlin \(open\)", row), row
    page = client.get(f"/cases/{case}").text
    assert "Regulatory deadlines" in page and "jurisdiction: PSD2" in page
    assert "deadline final (35 business days)" in page


def test_a_shard_damaged_after_the_queue_was_read_is_refused_at_once_not_shown_from_memory(
    site: dict[str, Any],
) -> None:
    """No commit between the reads, so nothing tells the web app the shard changed but
    the file itself: the next queue read names the damage (it used to show the cases
    read before, until the daemon's next commit)."""
    client = _signed_in(site, "bob")
    assert client.get("/").status_code == 200 and client.get("/queue/rows").status_code == 200
    shard = site["data"] / "cases" / "000000.json"
    healthy = shard.read_bytes()
    shard.write_bytes(healthy[:100])
    for path in ("/", "/queue/rows"):
        page = client.get(path)
        assert page.status_code == 503 and "000000.json" in page.text, (path, page.text[:300])
    shard.write_bytes(healthy)  # restored: the queue is back
    assert client.get("/").status_code == 200
    shard.unlink()  # lost: state.json still lists it
    page = client.get("/")
    assert page.status_code == 503 and "000000.json" in page.text


def test_a_damaged_store_is_named_on_the_page_not_a_bare_server_error(site: dict[str, Any]) -> None:
    client = _signed_in(site, "bob")
    shard = site["data"] / "cases" / "000000.json"
    shard.write_bytes(shard.read_bytes()[:100])  # cut short, as by a disk that filled up
    for path in ("/", f"/cases/{site['emma']}"):
        page = client.get(path)
        assert page.status_code == 503, (path, page.text[:300])
        assert "store damaged" in page.text and "000000.json" in page.text and "restore" in page.text
    state = site["data"] / "state.json"
    state.write_bytes(b"{}")
    page = client.get("/quarantine")
    assert page.status_code == 503 and "store damaged" in page.text and "state.json" in page.text


def test_an_action_done_but_not_audited_says_so_and_is_not_shown_as_failed(
    site: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The disk fills between the action's commit and its audit line: staff told "that
    # did not work" would send the reply again, and the customer would get it twice.
    from inbox_agent.adapters.audit_log import AuditLogFile

    alice, case = _signed_in(site, "alice"), site["emma"]
    real = AuditLogFile.record

    def full_disk_after_the_commit(self: AuditLogFile, entry: dict[str, Any]) -> None:
        if entry.get("outcome") == "ok":
            raise OSError(errno.ENOSPC, "No space left on device", str(self.path))
        real(self, entry)

    monkeypatch.setattr(AuditLogFile, "record", full_disk_after_the_commit)
    acted = _post(alice, f"/cases/{case}/act/note", text="called the customer back")
    assert acted.status_code == 303, acted.text[:300]
    page = alice.get(acted.headers["location"]).text
    assert "Note added." in page and "audit log could not be written" in page
    assert "No space left on device" in page and "do not repeat" in page
    notes = [e for e in cli_json(site["config"], "show", case)["events"] if e["kind"] == "note"]
    assert len(notes) == 1
