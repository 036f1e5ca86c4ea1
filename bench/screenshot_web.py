"""Screenshots of the staff web app in headless Chromium: the queue, a case, quarantine.

    python bench/screenshot_web.py [--out DIR] [--mails N]

Files the labelled complaints of tests/data/labelled through `run --once`, escalates
what is late six hours on, starts `inbox-agent web`, signs in with Playwright driving
Debian's chromium and saves queue.png, case.png (the escalated case at the top of the
queue), case-preview.png (a reply previewed before sending) and quarantine.png (a
file that is not a mail, delivered after the complaints). Needs `chromium`, and a CJK
font (Debian: `fonts-noto-cjk`) for the Chinese subjects not to show as boxes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from webapp import PASSWORD, WEB_TEST_SETTINGS, browser_page, sign_in_browser, web_server  # noqa: E402

from bench.screenshot_report import fill_store, write_config  # noqa: E402
from inbox_agent.domain.clock import SystemClock, iso  # noqa: E402


def cli(config: Path, *args: str) -> None:
    env = {**os.environ, "INBOX_AGENT_STAFF_PASSWORD": PASSWORD}
    subprocess.run([sys.executable, "-m", "inbox_agent", "--config", str(config), *args], check=True, env=env)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="where the screenshots go (default: a temp dir)")
    parser.add_argument("--mails", type=int, default=80, help="use at most this many labelled mails")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="inbox-agent-web-"))
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="inbox-agent-web-store-"))
    config = write_config(work)
    settings = "".join(
        f"{key} = {str(value).lower() if isinstance(value, bool) else repr(value)}\n"
        for key, value in WEB_TEST_SETTINGS.items()
    )
    config.write_text(
        config.read_text(encoding="utf-8") + "\n[web]\n" + settings.replace("'", '"'), encoding="utf-8"
    )
    fill_store(work, config, args.mails)
    # Something the daemon cannot read, so the queue shows its banner and quarantine a row.
    (work / "maildir" / "new" / "9999.junk:2,").write_bytes(b"\x00\x01 this is not a mail")
    cli(config, "run", "--once")
    cli(config, "escalate", "--now", iso(SystemClock().now() + timedelta(hours=6)))
    cli(config, "staff", "add", "li.na", "--role", "supervisor")
    with web_server(config) as base, browser_page(work / "profile") as page:
        page.set_viewport_size({"width": 1440, "height": 1000})
        sign_in_browser(page, base, "li.na")
        page.screenshot(path=str(out / "queue.png"), full_page=False)
        print(f"shot: {out / 'queue.png'}")
        page.locator("#queue-rows tr td.id a").first.click()
        page.wait_for_load_state()
        page.screenshot(path=str(out / "case.png"), full_page=True)
        print(f"shot: {out / 'case.png'}")
        page.fill(
            "textarea[name=text] >> nth=0",
            "We have refunded the duplicate charge; it reaches your card in 3 to 5 working days.",
        )
        page.click("#preview-reply")
        page.wait_for_load_state()
        page.screenshot(path=str(out / "case-preview.png"), full_page=True)
        print(f"shot: {out / 'case-preview.png'}")
        page.goto(f"{base}/quarantine")
        page.wait_for_load_state()
        page.screenshot(path=str(out / "quarantine.png"), full_page=True)
        print(f"shot: {out / 'quarantine.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
