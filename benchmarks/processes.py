"""CPU time of the processes a benchmark starts (read from /proc, so it counts children and PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far (Linux /proc; 0 for a pid that is gone)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = _stat_fields(pid)
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def process_tree(pid: int) -> list[int]:
    """``pid`` and its children (the celery pool's processes)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = [int(k) for k in children.read_text().split()] if children.exists() else []
    return [pid, *kids]


def postgres_pids() -> list[int]:
    """Every PostgreSQL server process on this machine (backends, WAL writer, ...)."""
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _comm(p) == "postgres"]


def postgres_cpu_seconds() -> float:
    """User + system CPU seconds of PostgreSQL so far: its live processes, plus the backends that have
    exited (a Celery task's connection closes with the task: its backend's time is gone from /proc but
    added to the postmaster's reaped-children time)."""
    pids = postgres_pids()
    live = cpu_seconds(pids)
    reaped = sum(_children_cpu(pid) for pid in pids if _parent(pid) not in pids)
    return live + reaped


def _stat_fields(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _parent(pid: int) -> int:
    try:
        return int(_stat_fields(pid)[1])
    except OSError:
        return 0


def _children_cpu(pid: int) -> float:
    """CPU seconds of ``pid``'s exited, reaped children (cutime + cstime)."""
    try:
        fields = _stat_fields(pid)
    except OSError:
        return 0.0
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def _comm(proc: Path) -> str:
    try:
        return (proc / "comm").read_text().strip()
    except OSError:
        return ""


def celery_worker_start(*, env: dict[str, str], log: Path, name: str, options: tuple[str, ...]) -> subprocess.Popen:
    """A real ``celery worker`` subprocess with ``options`` (pool, queues, concurrency), once it says it is
    ready; its output goes to ``log``."""
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "-A", "paperboy", "worker", *options),
            *("--prefetch-multiplier", "1", "--loglevel", "INFO"),
            *("--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{name}-{os.getpid()}@%h"),
        ],
        cwd=REPO,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while "ready." not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the celery worker {name} did not start:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)
    return process
