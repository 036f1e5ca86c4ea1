"""Tell the C allocator what to do with freed memory: keep it, for a process that fits a
model; give it back, for the daemon.

The logistic regression of a fit (services/model_fit.py) makes and drops arrays of a
few hundred MB (one coefficient per n-gram and class) on every one of its ~80
iterations. glibc serves anything over 32 MB with its own mmap and unmaps it when
freed, so the next iteration's array is faulted in again page by page: on the shipped
corpus, 580,000 page faults and 49 s of system time in a 150 s regression. With mmap
off and the heap never trimmed, freed arrays are reused: the same fit took 110 s
(8 s of system time), for 10 % more peak memory (3.9 GB against 3.6).

:func:`keep_freed_memory` only for `inbox-agent train` and bench/train_model.py, which
exit when the fit is done; never the daemon, whose memory must go back to the system:
it calls :func:`give_back_freed_memory` at start. Where the C library is not glibc (no
``mallopt``), nothing changes.
"""

from __future__ import annotations

import ctypes

# glibc's malloc.h
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_MMAP_MAX = -4
_DEFAULT_MMAP_THRESHOLD = 128 * 1024  # glibc's own starting value
_LARGEST_INT = 2**31 - 1  # mallopt takes a C int


def _libc() -> ctypes.CDLL | None:
    """The C library's allocator calls, from the symbols the process already has
    (``find_library`` would run ``ldconfig`` in a child process: a fork of the daemon)."""
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
        libc.mallopt.restype = ctypes.c_int
        libc.malloc_trim.argtypes = (ctypes.c_size_t,)
        libc.malloc_trim.restype = ctypes.c_int
    except (OSError, AttributeError, TypeError):  # no C library found, or not glibc
        return None
    return libc


def give_back_freed_memory() -> bool:
    """For the daemon, once at start: large blocks (128 KB and more) always their own
    mmap, unmapped when freed, and what is free now handed back (glibc). Returns whether
    the allocator took the settings.

    glibc raises its mmap threshold to the size of each large block freed (up to 32
    MB), so after the category model is read (a 10 MB file, its 7 MB first-layer column
    decoded and inflated) every later block of that size came from the heap and stayed
    there: the model's 18 MB of reading left 28 MB resident (a bare process: 92 MB after
    reading, 64 MB with the threshold fixed), and the daemon's peak at N=10,000 rose
    by as much."""
    libc = _libc()
    if libc is None:
        return False
    fixed = bool(libc.mallopt(_M_MMAP_THRESHOLD, _DEFAULT_MMAP_THRESHOLD))
    libc.malloc_trim(0)
    return fixed


def keep_freed_memory() -> bool:
    """Serve large allocations from the heap and never give it back (glibc). Returns
    whether the allocator took the settings."""
    libc = _libc()
    if libc is None:
        return False
    # 1 on success, 0 when glibc refuses a value
    return bool(libc.mallopt(_M_MMAP_MAX, 0)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, _LARGEST_INT))
