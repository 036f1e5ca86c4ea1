"""Fuzz the path every incoming mail takes: parse -> guard -> categorize -> evidence.

    python bench/fuzz.py --examples 20000 [--seed 1] [--data tests/data/shared]

Seeds are real mails (``tests/data/shared/mail``, the project's ``examples/``,
``tests/mails`` and its signed and encrypted ``sealed/`` mails); hypothesis mutates their bytes (overwrites, inserts, deletions,
splices of MIME syntax and charset labels) and every input must end in a result or a
quarantine reason — never an exception, never more than ``MAX_SECONDS``, never a
generated attachment name that could leave the attachment folder, never a file
written anywhere. ``tests/test_fuzz.py`` runs a short round of the same thing.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
# The third-party corpora kept in the repository (tests/data/shared/README.md).
DEFAULT_DATA = ROOT / "tests" / "data" / "shared"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from inbox_agent.config.loader import Config, load_config  # noqa: E402
from inbox_agent.pipeline.classify import classify_bytes  # noqa: E402
from inbox_agent.stages.parse import ParseFailure, parse_message  # noqa: E402

MAX_SECONDS = 10.0  # a hang guard, not a speed target: the real cost is milliseconds
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
SPLICES = [
    b"\x00",
    b"\r\n\r\n",
    b"\n--",
    b"=?utf-8?B?",
    b"=?gb2312?Q?=D6=D0?=",
    b"?=",
    b"; charset=gbk",
    b"; charset=\x00",
    b'; boundary=""',
    b"Content-Type: multipart/mixed; boundary=x\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"filename*0*=utf-8''..%2F..%2Fetc%2Fpasswd",
    b'filename="../../x.exe"',
    b"\xff\xfe",
    b"\xe4\xb8",
    b"Auto-Submitted: auto-replied\r\n",
    b"{{ 7*7 }}",
    b"<script>alert(1)</script>",
]


def seed_files(data: Path | None) -> list[Path]:
    """Real mails first (the third-party corpus), then the project's own examples and fixtures."""
    found: list[Path] = []
    if data is not None and (data / "mail").is_dir():
        found += [
            path
            for path in sorted((data / "mail").rglob("*"))
            if path.is_file() and path.stat().st_size < 2_000_000 and path.suffix not in {".md", ".json"}
        ]
    for folder in (
        ROOT / "examples" / "maildir" / "new",
        ROOT / "tests" / "mails",
        ROOT / "tests" / "mails" / "sealed",
    ):
        found += sorted(path for path in folder.glob("*") if path.is_file())
    return found


def mutate(data: bytes, edits: list[tuple[int, float, bytes]]) -> bytes:
    """Apply (kind, where, bytes) edits: 0 overwrite, 1 insert, 2 delete a run."""
    buffer = bytearray(data)
    for kind, where, chunk in edits:
        position = int(where * len(buffer))
        if kind == 0:
            buffer[position : position + len(chunk)] = chunk
        elif kind == 1:
            buffer[position:position] = chunk
        else:
            del buffer[position : position + 1 + len(chunk) * 8]
    return bytes(buffer)


def edits_strategy() -> Any:
    chunk = st.one_of(st.sampled_from(SPLICES), st.binary(min_size=1, max_size=12))
    return st.lists(st.tuples(st.integers(0, 2), st.floats(0, 1), chunk), max_size=16)


def check_one(raw: bytes, config: Config) -> str:
    """The invariants for one input; returns "result", "skip" or "quarantine"."""
    started = time.monotonic()
    outcome = classify_bytes(raw, config, NOW)
    elapsed = time.monotonic() - started
    assert elapsed < MAX_SECONDS, f"{elapsed:.1f}s for one message"
    if "error" in outcome:
        reason = outcome["error"]
        assert reason.startswith("would be quarantined: ") and len(reason) > 22, reason
        assert "unexpectedly" not in reason, reason  # the wrapper's catch-all: a bug to fix
        return "quarantine"
    assert outcome["category"] and isinstance(outcome["missing"], list)
    try:
        msg = parse_message(raw, received_at=NOW)
    except ParseFailure:  # pragma: no cover - classify_bytes just parsed it
        raise AssertionError("parse_message disagreed with classify_bytes") from None
    assert "\n" not in msg.subject and "\r" not in msg.subject
    for attachment in msg.attachments:
        assert SAFE_NAME.match(attachment.safe_name), attachment.safe_name
        assert ".." not in attachment.safe_name
    return "skip" if outcome["skip"] else "result"


def make_target(config: Config, seeds: list[bytes], tally: Counter[str]) -> Callable[..., None]:
    @given(index=st.integers(0, len(seeds) - 1), edits=edits_strategy())
    def target(index: int, edits: list[tuple[int, float, bytes]]) -> None:
        tally[check_one(mutate(seeds[index], edits), config)] += 1

    return target


def winmail_seeds(data: Path | None) -> list[bytes]:
    """Each real TNEF stream (``tnef/``) as Outlook mails one: a text part and winmail.dat,
    so mutations reach the TNEF reader (stages/tnef_reader.py) through the whole parse."""
    if data is None or not (data / "tnef").is_dir():
        return []
    mails: list[bytes] = []
    for path in sorted((data / "tnef").glob("*.tnef")):
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = (
            "anna@firma.example",
            "complaints@wallet.example",
            "Charged twice",
        )
        msg.set_content("You charged me twice, screenshot attached.")
        msg.add_attachment(
            path.read_bytes(), maintype="application", subtype="ms-tnef", filename="winmail.dat"
        )
        mails.append(msg.as_bytes())
    return mails


def run(examples: int, seed: int, data: Path | None) -> dict[str, Any]:
    config = load_config(ROOT / "config.example.toml")
    paths = seed_files(data)
    seeds = [path.read_bytes() for path in paths] + winmail_seeds(data)
    tally: Counter[str] = Counter()
    target = make_target(config, seeds, tally)
    configured = hypothesis_seed(seed)(
        settings(
            max_examples=examples,
            deadline=None,  # check_one bounds each input itself
            database=None,
            suppress_health_check=list(HealthCheck),
        )(target)
    )
    with tempfile.TemporaryDirectory() as cwd:
        before = os.getcwd()
        os.chdir(cwd)  # nothing may be written: the folder must stay empty
        started = time.monotonic()
        try:
            configured()
        finally:
            os.chdir(before)
        written = sorted(str(path.relative_to(cwd)) for path in Path(cwd).rglob("*"))
    assert not written, f"files written while classifying: {written}"
    return {
        "inputs": sum(tally.values()),
        "seeds": len(seeds),
        "outcomes": dict(tally),
        "seconds": round(time.monotonic() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--examples", type=int, default=5000, help="how many mutated mails to try")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="folder holding mail/ with the real-mail seeds (default: tests/data/shared)",
    )
    args = parser.parse_args(argv)
    if not (args.data / "mail").is_dir():
        parser.error(f"no mail/ folder under {args.data}")
    report = run(args.examples, args.seed, args.data)
    print(
        f"{report['inputs']} mutated mails from {report['seeds']} seeds in {report['seconds']} s: "
        + ", ".join(f"{k} {v}" for k, v in sorted(report["outcomes"].items()))
        + "; 0 exceptions, nothing written"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
