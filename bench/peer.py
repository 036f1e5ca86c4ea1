"""The same-run comparison with django-helpdesk, when the peer harness is beside the
checkout (``../shared/peer-bench``; the repository does not need it).

Its ``compare.sh`` alternates django-helpdesk's ``manage.py get_email`` and
``inbox-agent run --once`` over the same 1,000 complaint mails, ROUNDS times, on its
own Dovecot (127.0.0.1:14310) and SMTP sinks. This copies the harness to a work
folder (it builds its venvs there on the first run), runs it with this checkout's
``inbox-agent`` and reads the rates it prints. The ratio is taken per round (the two
runs of a round are neighbours in time) and its median is reported.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
PEER_BENCH = PROJECT.parent / "shared" / "peer-bench"
# "django-helpdesk get_email N=1000: median wall 28.5s = 35.1 msg/s; tickets ..."
_HELPDESK = re.compile(r"django-helpdesk.*?=\s*([0-9]+(?:\.[0-9]+)?)\s*msg/s")


def peer_available() -> bool:
    return (PEER_BENCH / "compare.sh").is_file()


def parse_output(text: str) -> dict[str, Any]:
    """Rates per round from compare.sh's output: a django-helpdesk line then an
    inbox-agent JSON line, ROUNDS times."""
    helpdesk: list[float] = []
    ours: list[dict[str, Any]] = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{") and '"msg_s"' in line:
            ours.append(json.loads(line))
        elif (found := _HELPDESK.search(line)) is not None:
            helpdesk.append(float(found.group(1)))
    rounds = min(len(helpdesk), len(ours))
    ratios = [ours[i]["msg_s"] / helpdesk[i] for i in range(rounds) if helpdesk[i]]
    return {
        "rounds": rounds,
        "helpdesk_mails_per_second": helpdesk[:rounds],
        "inbox_agent_mails_per_second": [run["msg_s"] for run in ours[:rounds]],
        "inbox_agent_acks": [run["acks"] for run in ours[:rounds]],
        "ratio_per_round": [round(ratio, 2) for ratio in ratios],
        "ratio_median": round(statistics.median(ratios), 2) if ratios else None,
    }


def run_peer(work: Path, rounds: int = 3) -> dict[str, Any]:
    """Run compare.sh from a copy in ``work`` (kept between runs: its venvs)."""
    copy = work / "peer-bench"
    if not copy.exists():
        shutil.copytree(PEER_BENCH, copy)
    executable = Path(sys.executable).with_name("inbox-agent")
    env = dict(os.environ, PERF=str(copy), IA=str(executable), ROUNDS=str(rounds))
    done = subprocess.run(
        ["bash", str(copy / "compare.sh")], env=env, capture_output=True, text=True, timeout=7200
    )
    result = parse_output(done.stdout)
    result["exit_code"] = done.returncode
    if not result["rounds"]:
        result["error"] = (done.stdout + done.stderr)[-2000:]
    return result
