"""Shared fixtures: service availability, a real SMTP server on loopback, personas and factories."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlencode, urlparse

import pytest
from hypothesis import settings as hypothesis_settings

from digest.mailsink import MemoryHandler, sink_start

# No per-example deadline: the machines these run on are shared and noisy, and no property here is
# about speed (benchmarks/ measures that); a slow example must not fail a run as "DeadlineExceeded".
hypothesis_settings.register_profile("paperboy", deadline=None)
hypothesis_settings.load_profile("paperboy")


def pytest_configure(config) -> None:
    # Transactional tests empty the tables with DELETE rather than TRUNCATE (tests/flush.py says why).
    from tests.flush import delete_flush_install

    delete_flush_install()


REPO_ROOT = Path(__file__).resolve().parents[1]
# ../shared/ sits beside the checkout; PAPERBOY_SHARED points elsewhere (e.g. from a git worktree).
SHARED_DIR = Path(os.environ.get("PAPERBOY_SHARED") or REPO_ROOT.parent / "shared")
CORPUS_PATH = SHARED_DIR / "corpus" / "papers.jsonl"
REQUIRE_SERVICES = os.environ.get("PAPERBOY_REQUIRE_SERVICES") == "1"
# Workers, mail sinks and servers the tests start use the public development key, like the test run.
os.environ.setdefault("PAPERBOY_INSECURE_DEV_KEY", "1")


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def wait_for(predicate, *, what: str, timeout: float = 30.0):
    """Poll until ``predicate()`` is truthy and return its value, or fail naming what never happened."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def service_missing(reason: str) -> None:
    """Skip a test whose service is absent, or fail when CI requires every service."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (PAPERBOY_REQUIRE_SERVICES=1, so this is a failure, not a skip)")
    pytest.skip(reason)


# Debian's Chromium as this machine runs it: without the background-networking flags it tries to
# reach Google's hosts at start, which this network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS_DIR = REPO_ROOT / "docs" / "screenshots"


def chromium_executable() -> str:
    """Debian's ``chromium`` (PAPERBOY_CHROMIUM overrides), or skip/fail like a missing service."""
    path = os.environ.get("PAPERBOY_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        service_missing(f"Chromium is not installed at {path} (apt-get install -y chromium)")
    return path


@pytest.fixture
def browser(monkeypatch):
    """Debian's Chromium through Playwright, closed with everything the live server held."""
    executable = chromium_executable()
    from django.db import connections
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes are still
    # synchronous and safe (the live server answers from its own thread).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
            # While Playwright runs, the test's ORM calls get their own connection (Django keeps them
            # per async context); close it here, in that context, so the test database can be dropped.
            connections.close_all()
    # The live server answers keep-alive connections in threads that each hold a database connection
    # until the browser hangs up; let them finish too.
    for thread in threading.enumerate():
        if "process_request_thread" in thread.name:
            thread.join(timeout=5)


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("REDIS_URL", "")
    if not url:
        service_missing("REDIS_URL is not set: this test needs a real Redis server")
    if not _reachable(url, 6379):
        service_missing(f"Redis at {url} is not reachable")
    return url


@pytest.fixture
def postgres_db(settings) -> None:
    """Use in tests that need PostgreSQL itself (row locks, a real worker sharing the database)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        service_missing("this test needs PostgreSQL: set DATABASE_URL=postgres://... (CI does)")


def shared_file(path: Path) -> Path:
    """A file from ``../shared/`` (the corpus, the format samples), or skip/fail like a missing service.

    A clone without that sibling folder must not pass quietly in CI with a quarter of the suite skipped.
    """
    if not path.exists():
        service_missing(f"the shared file {path} is missing (it sits beside the project, in ../shared/)")
    return path


@pytest.fixture
def corpus_path() -> Path:
    return shared_file(CORPUS_PATH)


@pytest.fixture
def smtp_sink(settings):
    """A real SMTP server on loopback; Django's SMTP backend is pointed at it."""
    handler = MemoryHandler()
    controller = sink_start(handler=handler)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = controller.hostname
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture(autouse=True)
def _isolated_side_effects(settings):
    """Each test starts with an empty cache and in-process Celery tasks.

    CI points the cache and broker at a real Redis; tests that want a real worker say so
    (see ``celery_worker_process``) and everything else must not depend on one running.
    """
    from django.core.cache import cache

    from paperboy.celery import app

    cache.clear()
    # Personas' passwords are hashed in many tests; the production hasher costs ~1 s each here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # In-process sends use one SMTP connection: the extra connections run in threads with database
    # connections of their own, which cannot see a test's uncommitted rows. Real workers (and the tests
    # marked transaction=True that ask for more) use several.
    settings.PAPERBOY_SMTP_CONNECTIONS = 1
    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous
    cache.clear()


def database_url_for_subprocess() -> str:
    """A DATABASE_URL that points another process at the database this test is using."""
    from django.db import connection

    cfg = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{cfg['NAME']}"
    auth = cfg["USER"] + (f":{cfg['PASSWORD']}" if cfg["PASSWORD"] else "")
    url = f"postgres://{auth}@{cfg['HOST'] or '127.0.0.1'}:{cfg['PORT'] or 5432}/{cfg['NAME']}"
    options = cfg.get("OPTIONS", {}).get("options")
    return f"{url}?{urlencode({'options': options}, quote_via=quote)}" if options else url


class WorkerProcess:
    """A real ``celery worker`` process on the real broker, sharing the test's database.

    Started warm (forked from a server that has imported the libraries, tests/workers.py) unless
    ``warm=False``, which runs ``python -m celery`` from scratch.
    """

    def __init__(
        self, *, redis_url: str, env: dict[str, str], concurrency: int = 1, pool: str = "solo", warm: bool = True
    ) -> None:
        import subprocess
        import sys

        from tests.workers import warm_start

        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"paperboy-worker-{os.getpid()}-{id(self)}.log"
        self.log = self.log_path.open("w")
        argv = [
            *("-A", "paperboy", "worker", "--pool", pool, "--concurrency", str(concurrency), "--loglevel", "INFO"),
            *("--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"test-{os.getpid()}-{id(self)}@%h"),
        ]
        environment = {
            **os.environ,
            "DATABASE_URL": database_url_for_subprocess(),
            "REDIS_URL": redis_url,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            **env,
        }
        if warm:
            self.process = warm_start(argv=argv, env=environment, cwd=REPO_ROOT, log_path=self.log_path)
        else:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", *argv],
                cwd=REPO_ROOT,
                env=environment,
                stdout=self.log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "ready." in self.log_path.read_text(errors="replace"):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"celery worker did not start:\n{self.output()}")

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int | None = None) -> None:
        self.stop_begin(sig)
        self.stop_wait()

    def stop_begin(self, sig: int | None = None) -> None:
        """Ask the worker to stop (a warm shutdown unless ``sig`` says otherwise) without waiting for it."""
        import signal

        if self.process.poll() is None:
            self.process.send_signal(sig or signal.SIGTERM)

    def stop_wait(self) -> None:
        import subprocess

        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.log.close()


class WorkerStarter:
    """What ``celery_worker_process`` gives a test: ``start(env={...})`` starts one worker and waits until
    it is ready; ``start.several(2, env={...})`` starts that many side by side, then waits for them all."""

    def __init__(self, *, redis_url: str) -> None:
        self.redis_url = redis_url
        self.workers: list[WorkerProcess] = []

    def __call__(
        self, *, env: dict[str, str] | None = None, concurrency: int = 1, pool: str = "solo", warm: bool = True
    ) -> WorkerProcess:
        [worker] = self.several(1, env=env, concurrency=concurrency, pool=pool, warm=warm)
        return worker

    def several(
        self,
        count: int,
        *,
        env: dict[str, str] | None = None,
        concurrency: int = 1,
        pool: str = "solo",
        warm: bool = True,
    ) -> list[WorkerProcess]:
        started = [
            WorkerProcess(redis_url=self.redis_url, env=env or {}, concurrency=concurrency, pool=pool, warm=warm)
            for _ in range(count)
        ]
        self.workers.extend(started)
        for worker in started:
            worker.wait_ready()
        return started

    def stop_all(self) -> None:
        """Every worker gets its signal at once, then each is waited for (they shut down side by side)."""
        for worker in self.workers:
            worker.stop_begin()
        for worker in self.workers:
            worker.stop_wait()


@pytest.fixture
def celery_worker_process(redis_url, settings):
    """Start real Celery workers on demand: ``start(env={...}) -> WorkerProcess`` (``WorkerStarter``).

    The test process publishes to the same broker (eager mode is switched off), so tasks really
    travel through Redis. Use with ``@pytest.mark.django_db(transaction=True)`` so the worker sees
    committed rows.
    """
    from paperboy.celery import app

    previous = app.conf.broker_url, app.conf.task_always_eager
    app.conf.broker_url = redis_url
    app.conf.task_always_eager = False
    app.control.purge()
    start = WorkerStarter(redis_url=redis_url)
    try:
        yield start
    finally:
        start.stop_all()
        app.control.purge()
        app.conf.broker_url, app.conf.task_always_eager = previous


SYNCHRONOUS_COMMIT_OFF = "-c synchronous_commit=off"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix) -> None:
    """The test databases' commits do not wait for the disk (``synchronous_commit=off``, on this run's own
    connections and the processes it starts): a commit is as visible, as locked and as ordered as before;
    only a crash of the PostgreSQL server could lose the last ones, and no test crashes it. Transactional
    tests and real workers commit every write, ~3 ms each with the flush to disk on this machine."""
    from django.db import connections

    for alias in connections:
        settings_dict = connections[alias].settings_dict
        if settings_dict["ENGINE"] == "django.db.backends.postgresql":
            options = settings_dict.setdefault("OPTIONS", {})
            options["options"] = f"{options.get('options', '')} {SYNCHRONOUS_COMMIT_OFF}".strip()
