"""The daemon in IDLE mode does not lose mail that reaches the folder mid-cycle.

Such a mail is announced (EXISTS) in the answer to one of the cycle's own commands
(here the FETCH of the batch before it), where the IMAP client drops it, and IDLE
never announces it again: without another look after a cycle that found mail it
would wait for the next poll (a minute here). Real Dovecot, the real IMAP adapter,
the real daemon loop, in a thread of the test process.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from helpers import complaint, write_config

from inbox_agent.config.loader import load_config
from inbox_agent.entrypoints.bootstrap import build_runtime
from inbox_agent.entrypoints.daemon import Daemon, StopFlag


def test_mail_arriving_during_a_cycle_is_processed_without_waiting_for_the_poll(
    dovecot, tmp_path: Path
) -> None:
    config_path = write_config(
        tmp_path,
        dovecot=dovecot,
        overrides={"mailbox": {"poll_interval": "60s"}, "mailbox.imap": {"idle": True, "idle_timeout": "1s"}},
    )
    runtime = build_runtime(load_config(config_path))
    first = complaint("first@customer.example", "Charged twice", "I was charged twice for order 1001.")
    second = complaint("second@customer.example", "Money not received", "My transfer of 50 never arrived.")
    dovecot.append(first)

    fetch = runtime.mailbox.fetch
    arrived = threading.Event()

    def fetch_while_mail_arrives(*args, **kwargs):  # type: ignore[no-untyped-def]
        if not arrived.is_set():  # the second mail lands after the cycle's SEARCH
            dovecot.append(second)
            arrived.set()
        return fetch(*args, **kwargs)

    runtime.mailbox.fetch = fetch_while_mail_arrives  # type: ignore[method-assign]
    stop = StopFlag()
    daemon = Daemon(runtime, stop, on_report=lambda report: None)
    thread = threading.Thread(target=daemon.run, daemon=True)
    thread.start()
    outbox = tmp_path / "outbox"  # the directory transport: one .eml per acknowledgement
    try:
        # Watched from outside the store: the daemon's thread owns the store object.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(list(outbox.glob("*.eml"))) < 2:
            time.sleep(0.1)
        acknowledged = len(list(outbox.glob("*.eml")))
    finally:
        stop.event.set()
        thread.join(timeout=15)
        runtime.close()
    assert arrived.is_set()
    assert acknowledged == 2
    senders = sorted(case.customer for case in runtime.store.iter_cases())
    assert senders == ["first@customer.example", "second@customer.example"]
