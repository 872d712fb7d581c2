"""A planning process's memory: the window's objects kept out of the garbage collector's way
(``shard_memory``), and the large blocks a shard frees kept for its next batch (``planner_memory_keep``).

The collector: a shard allocates hundreds of thousands of objects and frees few (measured: no
garbage cycle at all once the window is built), and each automatic collection would rescan them and the
process's whole heap -- the window's index, its shared explanations, millions of objects -- for nothing:
with the collector on, a planner spent about a tenth of its CPU in it (a collection of the young
generation after each shard, of the middle one every ten, of everything now and then). So it is paused
for the shard, and what the shard leaves alive is then frozen (``gc.freeze``): the window's caches,
which live as long as the window, are never scanned again; anything of it that dies is still freed
the ordinary way (reference counts).

Memory: a shard allocates and frees the same large blocks over and over: the engine's arrays of candidate
pairs (megabytes each), each batch's rows and its COPY text. By default glibc serves every block over
128 KiB to 32 MiB (its threshold moves) with a fresh ``mmap`` and returns it with ``munmap``, and trims
the heap's free top back to the system: each time, the kernel maps and zeroes every page again, one
fault per page. Measured on the planning benchmark, that was about a tenth of a planner's CPU, all of
it system time. Raising the thresholds once per process keeps those blocks in the heap to be reused;
the process's peak is unchanged (it is the same blocks), it only gives less back between shards.
Elsewhere than glibc (musl, macOS) this does nothing.
"""

from __future__ import annotations

import ctypes
import functools
import gc
from collections.abc import Iterator
from contextlib import contextmanager

# mallopt(3) parameters, from glibc's malloc.h.
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD = 32 * 1024 * 1024  # blocks up to this come from the heap (glibc's largest allowed)
TRIM_THRESHOLD = 512 * 1024 * 1024  # free heap kept at the top before any is given back
TOP_PAD = 64 * 1024 * 1024  # the heap grows by this much more than asked (fewer system calls)


@functools.cache
def planner_memory_keep() -> bool:
    """Make this process's ``malloc`` keep freed memory for reuse (once per process). Returns whether
    it could (glibc's ``mallopt`` accepted every setting)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    settings = ((_M_MMAP_THRESHOLD, MMAP_THRESHOLD), (_M_TRIM_THRESHOLD, TRIM_THRESHOLD), (_M_TOP_PAD, TOP_PAD))
    return all([mallopt(param, value) == 1 for param, value in settings])


@contextmanager
def shard_memory() -> Iterator[None]:
    """Around planning one shard: the collector paused, and what the shard left alive frozen after it
    (not after a failed shard: its traceback's cycles must stay collectable). See the module's notes."""
    planner_memory_keep()
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        gc.freeze()
    finally:
        if enabled:
            gc.enable()
