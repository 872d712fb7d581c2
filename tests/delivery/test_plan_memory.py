"""A planning process keeps the large blocks it frees (digest/delivery/plan/memory.py)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")

# Allocates and frees what a shard's batches do -- a few megabytes of array and of text, again and
# again -- and prints the minor page faults that cost (each one the kernel mapping a zeroed page).
_WORKLOAD = """
import resource, sys
import django
import numpy as np
django.setup()
if sys.argv[1] == "keep":
    from digest.delivery.plan.memory import planner_memory_keep
    assert planner_memory_keep()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(40):
    pairs = np.ones(1_500_000)
    kept = (pairs * 2.0 > 1).nonzero()[0]
    text = "x" * 6_000_000
    del pairs, kept, text
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "paperboy.settings"}
    done = subprocess.run([sys.executable, "-c", _WORKLOAD, mode], capture_output=True, text=True, check=True, env=env)
    return int(done.stdout.strip())


def test_a_planning_process_reuses_the_large_blocks_it_frees_instead_of_faulting_them_in_again():
    default, kept = _faults("default"), _faults("keep")

    # By default each block is mapped afresh and every page of it faults in, each time round.
    assert default > 40 * 1000, default
    assert kept < default / 10, (kept, default)


def test_glibc_accepts_every_setting_the_planner_asks_for():
    from digest.delivery.plan.memory import planner_memory_keep

    assert planner_memory_keep() is True, "mallopt refused a value (e.g. a threshold above its maximum)"


@pytest.mark.django_db
def test_a_window_a_planner_lets_go_is_collected_though_its_shards_froze_it(monkeypatch, settings):
    import gc
    import weakref
    from datetime import UTC, datetime, timedelta

    from digest.delivery import window as delivery_window
    from digest.delivery.plan import deliveries_plan
    from tests.delivery.conftest import readers_due
    from tests.factories import paper_make

    monkeypatch.setattr(delivery_window, "_WINDOWS", type(delivery_window._WINDOWS)())
    readers_due(2, prefix="freeze")
    deliveries_plan()
    (window,) = delivery_window._WINDOWS.values()
    index = weakref.ref(window.index)
    assert gc.get_freeze_count() > 0, "what the shard left alive (the window) is out of the collector's way"
    assert window.index.highlighter.index is window.index, "the index and its highlighter refer to each other"
    del window

    # A paper committed late: the window is built again and the old one let go.
    now = datetime.now(UTC)
    paper_make(title="Late diffusion", abstract="diffusion", ingested_at=now - timedelta(minutes=1))
    (start, end), *_ = delivery_window._WINDOWS
    delivery_window.plan_window(start=start, end=end)

    assert index() is None, "the old window's index (a reference cycle) was collected, not kept frozen"
    gc.unfreeze()


@pytest.mark.django_db
def test_a_failed_shard_freezes_nothing(monkeypatch):
    import gc

    from digest.delivery.plan import memory

    gc.unfreeze()
    with pytest.raises(RuntimeError), memory.shard_memory():
        raise RuntimeError("the database went away")
    assert gc.get_freeze_count() == 0 and gc.isenabled()
