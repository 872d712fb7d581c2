"""Shared fixtures: service availability, a real SMTP server on loopback, personas and factories."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlparse

import pytest

from digest.mailsink import MemoryHandler, sink_start

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS_PATH = REPO_ROOT.parent / "shared" / "corpus" / "papers.jsonl"
REQUIRE_SERVICES = os.environ.get("PAPERBOY_REQUIRE_SERVICES") == "1"


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def service_missing(reason: str) -> None:
    """Skip a test whose service is absent, or fail when CI requires every service."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (PAPERBOY_REQUIRE_SERVICES=1, so this is a failure, not a skip)")
    pytest.skip(reason)


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


@pytest.fixture
def corpus_path() -> Path:
    if not CORPUS_PATH.exists():
        pytest.skip(f"the shared corpus is not at {CORPUS_PATH}")
    return CORPUS_PATH


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
    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous
    cache.clear()
