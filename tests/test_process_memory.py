"""A process that fits a model reuses freed memory instead of faulting it in again
(adapters/process_memory.py). Run in child processes: the setting lasts a process's life."""

from __future__ import annotations

import subprocess
import sys

# Four rounds of two 64 MB arrays made and dropped, as a fit's iterations do; prints
# the page faults of the last three rounds (the first may grow the heap).
_ROUNDS = """
import resource, sys
import numpy as np
from inbox_agent.adapters.process_memory import keep_freed_memory
kept = keep_freed_memory() if sys.argv[1] == "keep" else None
faults = []
for _ in range(4):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    a = np.ones(8 << 20)
    b = a * 2
    del a, b
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(kept, sum(faults[1:]))
"""


def _faults(mode: str) -> tuple[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", _ROUNDS, mode], capture_output=True, text=True, check=True, timeout=120
    )
    kept, faults = done.stdout.split()
    return kept, int(faults)


def test_large_arrays_freed_in_a_training_process_are_reused_not_faulted_in_again() -> None:
    kept, reusing = _faults("keep")
    _, by_default = _faults("default")
    assert kept == "True"  # glibc, as on every machine this runs on (Debian)
    # Each round of the default faults its 128 MB in again (64 pages of 2 MB at the
    # very least); kept, the heap's pages are already there.
    assert by_default >= 3 * 64
    assert reusing * 4 < by_default


# Reads the shipped category model (a 10 MB file whose largest column is decoded and
# inflated on the way) and prints the resident memory afterwards, in kB.
_READ_MODEL = """
import re, sys
from inbox_agent.adapters.process_memory import give_back_freed_memory
given = give_back_freed_memory() if sys.argv[1] == "give" else None
from inbox_agent.config.model_file import shipped_model
assert shipped_model().network is not None
status = open("/proc/self/status").read()
print(given, re.search(r"VmRSS:\\s+(\\d+) kB", status).group(1))
"""


def _resident_after_reading_the_model(mode: str) -> tuple[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", _READ_MODEL, mode], capture_output=True, text=True, check=True, timeout=120
    )
    given, resident = done.stdout.split()
    return given, int(resident)


def test_the_daemon_gives_back_what_reading_the_model_freed() -> None:
    """build_runtime calls give_back_freed_memory at start: the blocks the model's
    reading freed go back to the system instead of raising the daemon's peak."""
    given, giving = _resident_after_reading_the_model("give")
    _, by_default = _resident_after_reading_the_model("default")
    assert given == "True"
    assert giving + 10 * 1024 < by_default, (giving, by_default)
