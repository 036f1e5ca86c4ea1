"""Hostile mail in the staff web app, in a real Chromium: script tags, ``<img onerror>``,
``javascript:`` links and SVG in the subject, the body (text and HTML), the display
name and an attachment's name render as inert text. The browser proves it: no dialog
opens and no request leaves for anything but the app's own pages, scripts and styles."""

from __future__ import annotations

import re
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from helpers import cli, cli_json, write_config
from webapp import WEB_TEST_SETTINGS, add_staff, browser_page, sign_in_browser, web_server

PAYLOADS = (
    "<script>alert('s')</script>",
    "<img src=x onerror=alert('i')>",
    "<a href=\"javascript:alert('j')\">click</a>",
    "<svg onload=alert('v')><script>alert('w')</script></svg>",
)
HOSTILE = " ".join(PAYLOADS)
# What the app itself may load or call: its pages, its one script and style sheet, the
# poller, and previews of raster images only.
ALLOWED = re.compile(
    r"^/(|signin|version|queue/rows|unfiled|static/web\.(js|css)|cases/[A-Z]+-\d{4}-\d+(/images/[A-Za-z0-9._-]+\.(png|jpe?g|gif|webp))?)$"
)


def _hostile_mail(message_id: str = "<xss-1@example.com>", **headers: str) -> bytes:
    msg = EmailMessage()
    for name, value in headers.items():
        msg[name] = value
    msg["From"] = f'"{PAYLOADS[1]} {PAYLOADS[3]}" <mallory@example.com>'
    msg["To"] = "complaints@wallet.example"
    msg["Subject"] = f"Refund {PAYLOADS[0]} {PAYLOADS[1]}"
    msg["Message-ID"] = message_id
    msg.set_content(f"My payment failed. {HOSTILE}")
    msg.add_alternative(
        f"<html><body><p>My payment failed.</p>{HOSTILE}<iframe src='https://evil.example/'></iframe></body></html>",
        subtype="html",
    )
    svg = b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'><script>alert(2)</script></svg>"
    msg.add_attachment(svg, maintype="image", subtype="svg+xml", filename=f"{PAYLOADS[1]}.svg")
    msg.add_attachment(
        b"<html><script>alert(3)</script></html>",
        maintype="text",
        subtype="html",
        filename=f"{PAYLOADS[0]}.html",
    )
    return msg.as_bytes()


def test_hostile_strings_render_inert_in_the_browser(tmp_path: Path) -> None:
    maildir = tmp_path / "maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "new" / "1.eml").write_bytes(_hostile_mail())
    # The same as an auto-reply: kept on no case, shown on the Unfiled page.
    away = _hostile_mail("<xss-2@example.com>", **{"Auto-Submitted": "auto-replied"})
    (maildir / "new" / "2.eml").write_bytes(away)
    config = write_config(tmp_path, maildir=maildir, overrides={"web": dict(WEB_TEST_SETTINGS)})
    ran = cli(config, "run", "--once")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    (case,) = cli_json(config, "cases")
    add_staff(config, "alice", "supervisor")
    dialogs: list[str] = []
    requests: list[str] = []
    with web_server(config) as base, browser_page(tmp_path / "profile") as page:
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.on("request", lambda request: requests.append(request.url))
        sign_in_browser(page, base, "alice")
        page.goto(f"{base}/?q=refund")
        page.goto(f"{base}/cases/{case['case_id']}")
        page.wait_for_timeout(1500)  # let anything that could fire, fire (onload, onerror, the poller)
        text = page.locator("main").inner_text()
        for payload in PAYLOADS:
            assert payload in text, payload  # shown as the customer wrote it, as text
        hrefs: list[Any] = page.eval_on_selector_all("a", "links => links.map(a => a.getAttribute('href'))")
        assert not [href for href in hrefs if href and not href.startswith("/")]
        assert page.eval_on_selector_all("main img, main svg, main iframe, main script", "n => n.length") == 0
        page.goto(f"{base}/unfiled")
        page.wait_for_timeout(1500)
        kept = page.locator("#unfiled").inner_text()
        assert "Refund <script>alert('s')" in kept and PAYLOADS[2] in kept  # subject and text, as text
        assert page.eval_on_selector_all("main img, main svg, main iframe, main script", "n => n.length") == 0
        page.goto(f"{base}/")
        page.wait_for_timeout(1500)
    assert dialogs == []
    own = urlsplit(base).netloc
    strays = [url for url in requests if urlsplit(url).netloc != own or not ALLOWED.match(urlsplit(url).path)]
    assert strays == []
