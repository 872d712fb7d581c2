"""Running the suite in several processes (``make test`` uses pytest-xdist): each worker process gets a
Redis database of its own, as it gets a PostgreSQL test database of its own from pytest-django.

Loaded with ``-p tests.parallel`` before Django reads its settings, so the worker's REDIS_URL (and
every process a test starts from it: Celery workers, ``manage.py``) points at its own database, and two
workers' queues, rate-limit buckets and circuit breakers never meet.

It also deals the tests out so that both processes finish together: the slow ones first, one at
a time (``pytest_collection_modifyitems``, ``pytest_configure``). Without xdist it does nothing.
"""

from __future__ import annotations

import os
import re

worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", ...; set by xdist before any import
url = os.environ.get("REDIS_URL", "")
if worker.startswith("gw") and url:
    index = int(worker[2:])
    match = re.search(r"/(\d+)$", url)
    db = int(match.group(1)) if match else 0
    # Count down from the configured database (CI: 15, 14, ...), never below 0.
    if index > db:
        raise RuntimeError(f"REDIS_URL={url!r}: too few Redis databases below it for xdist worker {worker}")
    os.environ["REDIS_URL"] = (url[: match.start()] if match else url.rstrip("/")) + f"/{db - index}"


def pytest_configure(config) -> None:
    """Hand the tests out one at a time, so each process always has one test running and one waiting.

    xdist's default sends long runs of consecutive tests at once; with ``--maxschedchunk 2`` a process
    that runs quick tests still collects a queue one test longer with each (xdist refills a chunk per
    test that took under 0.1 s), and in one run here it ended with 100 s of tests queued while the
    other process had nothing left. With 1 the queue stays at two.
    """
    if getattr(config.option, "maxschedchunk", "absent") is None and worker == "":  # the controller, no choice made
        config.option.maxschedchunk = 1


def pytest_collection_modifyitems(session, config, items) -> None:
    """Under xdist, the slow tests (marked ``slow`` or ``browser``) go first within each of pytest-django's
    groups, and everything else after them.

    pytest-django runs the tests in three groups, and that order must stay: tests in a rolled-back
    transaction first (some read rows the migrations wrote), then transactional ones (which empty every
    table, those rows included), then tests without the database. Within a group, with the tests handed
    out one at a time, each process takes the next test as it finishes one: the long ones start
    early, side by side, and the group ends on short ones, so neither process idles at the end while the
    other finishes a 40 s test. Otherwise the order is unchanged (modules stay together, so their
    module-scoped servers start once).
    """
    if not worker.startswith("gw"):
        return
    groups = [database_group(item) for item in items]
    if groups != sorted(groups):  # not pytest-django's order as this module knows it: leave the order alone
        return
    items.sort(key=lambda item: (database_group(item), not slow(item)))


def slow(item) -> bool:
    return item.get_closest_marker("slow") is not None or item.get_closest_marker("browser") is not None


def database_group(item) -> int:
    """pytest-django's order: 0 rolled back, 1 transactional, 2 no database (its plugin's get_order_number)."""
    from django.test import TestCase, TransactionTestCase
    from pytest_django.plugin import validate_django_db

    cls = getattr(item, "cls", None)
    if cls and issubclass(cls, TransactionTestCase):
        return 0 if issubclass(cls, TestCase) else 1
    marker = item.get_closest_marker("django_db")
    transactional = uses_db = False
    if marker:
        transaction, reset_sequences, *_ = validate_django_db(marker)
        uses_db, transactional = True, transaction or reset_sequences
    fixtures = getattr(item, "fixturenames", [])
    if transactional or "transactional_db" in fixtures or "live_server" in fixtures:
        return 1
    return 0 if uses_db or "db" in fixtures else 2
