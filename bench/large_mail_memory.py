"""Peak memory for one large mail, above the daemon's base (issue: under 3x the size).

    python bench/large_mail_memory.py            # 25 MB and 40 MB mails
    python bench/large_mail_memory.py --sizes 5,25

Each run is a fresh `inbox-agent run --once` process on a Maildir holding one mail
(a complaint with one PDF-like attachment, base64), answered into a directory. The
base is the same run with a small mail; the figure is (peak RSS with the large mail
- peak RSS with the small one) / mail size. Peak RSS is the daemon's ru_maxrss, read
by a small launcher (see ``_LAUNCHER``: started from here, the daemon's peak would
include this process's own memory).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024


def _mail(payload_bytes: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = "big@customer.example"
    msg["To"] = "complaints@wallet.example"
    msg["Subject"] = "Transfer failed, statement attached"
    msg["Date"] = "Fri, 20 Nov 2026 09:30:00 +0800"
    msg["Message-ID"] = f"<big.{payload_bytes}@customer.example>"
    msg.set_content("My transfer of 500 yuan failed on 2026-11-18, the statement is attached.")
    if payload_bytes:
        payload = b"%PDF-1.4\n" + os.urandom(payload_bytes)
        msg.add_attachment(payload, maintype="application", subtype="pdf", filename="statement.pdf")
    return msg.as_bytes()


def _config(folder: Path, mail: bytes) -> Path:
    maildir = folder / "maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "new" / "1.mail").write_bytes(mail)
    config = folder / "config.toml"
    config.write_text(
        f"""[mailbox]
kind = "maildir"
address = "complaints@wallet.example"
max_message_size = "200MB"
[mailbox.maildir]
path = "{maildir}"
[smtp]
kind = "directory"
directory = "{folder / "outbox"}"
[storage]
data_dir = "{folder / "data"}"
"""
    )
    return config


# Started by a small Python launcher, not by this process: Linux keeps a process's
# peak RSS across exec, and a child forked from this one starts with its RSS, which
# holds the generated mail and its making (the 24.7 MB mail read 163 MB "peak" that
# way, whatever the daemon did). The launcher prints the daemon's own peak, in KB.
_LAUNCHER = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
print(usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def peak_rss_of_run(mail: bytes) -> tuple[float, int]:
    """(peak RSS in MB of a `run --once` on this one mail, acknowledgements written)."""
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        config = _config(folder, mail)
        daemon = [sys.executable, "-m", "inbox_agent", "--config", str(config), "run", "--once"]
        launched = subprocess.run(
            [sys.executable, "-c", _LAUNCHER, *daemon], cwd=ROOT, capture_output=True, text=True, check=True
        )
        peak_kb, exit_code = (int(word) for word in launched.stdout.split())
        if exit_code != 0:
            raise SystemExit(f"run --once exited {exit_code} on a {len(mail)}-byte mail")
        acks = len(list((folder / "outbox").glob("*.eml"))) if (folder / "outbox").exists() else 0
        return peak_kb / 1024, acks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="25,40", help="mail sizes in MB, comma-separated")
    args = parser.parse_args()
    base, base_acks = peak_rss_of_run(_mail(0))
    print(f"base: small mail, peak RSS {base:.1f} MB, {base_acks} acknowledgement")
    print("| mail size | peak RSS | above base | ratio to size | acknowledged |")
    print("|---|---|---|---|---|")
    for size_mb in (int(part) for part in args.sizes.split(",")):
        payload = int(size_mb * MB / 1.37)  # base64 grows the payload by about 4/3 plus line ends
        mail = _mail(payload)
        peak, acks = peak_rss_of_run(mail)
        above = peak - base
        print(
            f"| {len(mail) / MB:.1f} MB | {peak:.1f} MB | {above:.1f} MB | {above / (len(mail) / MB):.2f}x | {acks} |"
        )


if __name__ == "__main__":
    main()
