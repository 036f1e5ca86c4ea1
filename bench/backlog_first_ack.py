"""How long the first customer waits under a backlog: `python bench/backlog_first_ack.py [N]`.

APPENDs N generated complaints (default 2,000) to a throw-away Dovecot, then runs the
daemon's cycle (bench/worker.py e2e) against it and a timed aiosmtpd, and prints when
the first acknowledgement reached the SMTP server, counted from the cycle's start,
next to the time for the whole backlog. The target (issue: acknowledgements flow
under a backlog) is a first acknowledgement within 5 s with 2,000 mails waiting.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run_bench import (  # noqa: E402
    TimedSmtpServer,
    append_corpus,
    config_for,
    customer_replies,
    generate_corpus,
    worker,
)
from servers import DovecotServer  # noqa: E402


def main(argv: list[str]) -> int:
    count = int(argv[0]) if argv else 2000
    dovecot, smtp = DovecotServer(), TimedSmtpServer()
    dovecot.start()
    smtp.start()
    try:
        with tempfile.TemporaryDirectory(prefix="inbox-agent-backlog-") as folder:
            work = Path(folder)
            mails = generate_corpus(count)
            append_corpus(dovecot, "Backlog", mails)
            config = config_for(work / "cfg", dovecot, smtp, "Backlog", work / "data")
            smtp.arrivals.clear()
            result = worker("e2e", "--config", str(config))
            replies = customer_replies(smtp.wait_for(0))
            started = result["cycle_started_monotonic"]
            first = min((t for t in smtp.arrivals.values() if t >= started), default=None)
    finally:
        smtp.stop()
        dovecot.destroy()
    print(
        f"backlog: {count} mails waiting; {result['fetched']} processed, {replies} acknowledgements received"
    )
    if first is None:
        print("first acknowledgement: none arrived")
        return 1
    print(f"first acknowledgement reached the SMTP server {first - started:.2f} s after the cycle started")
    print(f"whole backlog: {result['seconds']:.1f} s ({result['mails_per_second']} mails/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
