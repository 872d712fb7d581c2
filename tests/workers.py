"""Real Celery workers that start warm: forked from a server that has imported the heavy libraries once.

``python -m celery -A paperboy worker`` spends most of its ~4 s start-up here importing libraries
(SciPy and scikit-learn alone ~1 s of CPU); the fault tests start a dozen workers. A worker started
by ``warm_start`` is the same ``celery worker`` (``python -m celery`` with the same arguments and
environment, a process of its own that the test can kill) forked from a multiprocessing forkserver
that imported those libraries when it started: ready in ~1.3 s instead of ~4.

Nothing of the project is imported before the fork: its settings read the environment, which each
worker gets only in the child, so the server must never import them (``_worker_main`` checks).
``tests.conftest.WorkerProcess(warm=False)`` keeps the plain ``python -m celery`` subprocess;
tests/test_workers.py starts one of each and finds the same configuration and tasks in both.
"""

from __future__ import annotations

import multiprocessing
import os
import runpy
import signal
import subprocess
import sys
from pathlib import Path

# Third-party modules only, none of which reads Django's settings when imported.
PRELOAD = [
    "numpy",
    "scipy.stats",
    "sklearn.feature_extraction.text",
    "celery.bin.celery",
    "celery.apps.worker",
    "kombu.transport.redis",
    "redis",
    "psycopg",
    "jinja2",
    "django.db.models",
]

_context: multiprocessing.context.ForkServerContext | None = None


def _forkserver() -> multiprocessing.context.ForkServerContext:
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(PRELOAD)
    return _context


def _worker_main(argv: list[str], env: dict[str, str], cwd: str, log_path: str) -> None:
    """In the forked child: become ``python -m celery <argv>`` in ``cwd`` with ``env``, logging to ``log_path``."""
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 (the process's own stdout)
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115

    from django.conf import settings

    if "paperboy" in sys.modules or settings.configured:
        raise RuntimeError("the warm server imported the project before the fork: its settings would be stale")
    multiprocessing.current_process().name = "MainProcess"  # what a worker's log lines say, as when run alone
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    sys.path.insert(0, cwd)  # as ``python -m`` puts the working directory first
    sys.argv = ["celery", *argv]
    runpy.run_module("celery", run_name="__main__", alter_sys=True)


class WarmProcess:
    """``subprocess.Popen``'s face (poll, wait, send_signal, kill, pid) on a worker forked by the server."""

    def __init__(self, *, argv: list[str], env: dict[str, str], cwd: Path, log_path: Path) -> None:
        self._process = _forkserver().Process(
            target=_worker_main, args=(argv, env, str(cwd), str(log_path)), daemon=True
        )
        self._process.start()
        self.pid = self._process.pid

    def poll(self) -> int | None:
        return self._process.exitcode

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired(f"celery worker {self.pid}", timeout or 0)
        return self._process.exitcode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def warm_start(*, argv: list[str], env: dict[str, str], cwd: Path, log_path: Path) -> WarmProcess:
    return WarmProcess(argv=argv, env=env, cwd=cwd, log_path=log_path)
