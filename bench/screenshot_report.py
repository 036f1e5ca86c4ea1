"""Render the staff page from a real store and screenshot it with headless Chromium.

The store is built the way production builds it: the labelled complaint mails of
tests/data/labelled (Chinese and English, every category) go through
`inbox-agent run --once` on a Maildir, then the escalation sweep runs some hours
later, and `write_report` renders the page at that moment. Two screenshots: the page
as staff first see it, and the same page with every timeline unfolded (for review of
the timeline layout only; the real page keeps them folded).

    python bench/screenshot_report.py [--out DIR] [--hours-later 6] [--mails N]

Prints where the files are and what it measured (cases shown, page size, render and
screenshot times). Needs the Debian package `chromium` for the screenshots.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
if str(PROJECT) not in sys.path:
    sys.path.insert(0, str(PROJECT))

from inbox_agent.config.loader import Config, load_config  # noqa: E402
from inbox_agent.domain.clock import SystemClock  # noqa: E402
from inbox_agent.entrypoints.bootstrap import open_store, write_report  # noqa: E402
from inbox_agent.mail.render import TemplateSet  # noqa: E402

LABELLED = PROJECT / "tests" / "data" / "labelled"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def write_config(folder: Path) -> Path:
    path = folder / "config.toml"
    path.write_text(
        f"""
[mailbox]
kind = "maildir"
address = "complaints@wallet.example"
start_from = "all"

[mailbox.maildir]
path = {json.dumps(str(folder / "maildir"))}
processed_action = "flag"

[smtp]
kind = "directory"
directory = {json.dumps(str(folder / "outbox"))}

[storage]
data_dir = {json.dumps(str(folder / "data"))}

[sla]
default = "24h"
timezone = "Asia/Shanghai"

[staff]
addresses = ["agent.li@staff.wallet.example"]

[templates]
dir = {json.dumps(str(PROJECT / "inbox_agent" / "mail" / "templates"))}
""",
        encoding="utf-8",
    )
    return path


def fill_store(folder: Path, config_path: Path, mails: int) -> None:
    """Deliver the labelled complaints to a Maildir and let the daemon file them."""
    new = folder / "maildir" / "new"
    for sub in ("new", "cur", "tmp"):
        (folder / "maildir" / sub).mkdir(parents=True, exist_ok=True)
    for number, source in enumerate(sorted(LABELLED.glob("*.eml"))[:mails]):
        shutil.copy(source, new / f"{number:04d}.bench:2,")
    result = subprocess.run(
        [sys.executable, "-m", "inbox_agent", "--config", str(config_path), "run", "--once"],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        timeout=600,
    )
    if result.returncode != 0:
        raise SystemExit(f"run --once failed:\n{result.stdout}\n{result.stderr}")


def escalate(config: Config, at: datetime) -> str:
    """The escalation sweep, when this checkout has it: escalated cases belong on the page."""
    try:
        from inbox_agent.services.sweep import run_sweep
    except ImportError:
        return "no escalation sweep in this checkout: no case is escalated"
    report = run_sweep(config, open_store(config), TemplateSet(config.templates_dir), at)
    return f"escalation sweep: {len(report.fired)} levels fired, {len(report.flagged)} cases flagged"


def screenshot(chromium: str, page: Path, png: Path, profile: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--screenshot={png}",
            "--window-size=1280,1600",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, help="where the page and screenshots go (default: a temp dir)")
    parser.add_argument(
        "--hours-later", type=float, default=6.0, help="report this long after the mails arrived"
    )
    parser.add_argument("--mails", type=int, default=1000, help="use at most this many labelled mails")
    args = parser.parse_args()

    out = args.out or Path(tempfile.mkdtemp(prefix="inbox-agent-report-"))
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="inbox-agent-store-"))
    config_path = write_config(work)
    fill_store(work, config_path, args.mails)
    config = load_config(config_path)
    at = SystemClock().now() + timedelta(hours=args.hours_later)
    print(escalate(config, at))

    templates = TemplateSet(config.templates_dir)
    page = out / "report.html"
    started = time.perf_counter()
    shown = write_report(open_store(config), config, templates, at, page)
    render_seconds = time.perf_counter() - started
    cases = sum(1 for _ in open_store(config).iter_cases())
    unfolded = out / "report-timelines-open.html"
    unfolded.write_text(
        page.read_text(encoding="utf-8").replace(
            '<details class="timeline">', '<details class="timeline" open>'
        ),
        encoding="utf-8",
    )
    print(f"store: {work / 'data'} ({cases} cases)")
    print(
        f"page:  {page} ({shown} cases shown, {page.stat().st_size} bytes, rendered in {render_seconds:.3f} s)"
    )

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("chromium not installed (apt-get install chromium): no screenshot")
        return 1
    for html, png in ((page, out / "report.png"), (unfolded, out / "report-timelines-open.png")):
        seconds = screenshot(chromium, html, png, work / "chromium-profile")
        print(f"shot:  {png} ({png.stat().st_size} bytes, {seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
