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
