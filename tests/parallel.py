"""Running the suite in several processes (``make test`` uses pytest-xdist): each worker process gets a
Redis database of its own, as it gets a PostgreSQL test database of its own from pytest-django.

Loaded with ``-p tests.parallel`` before Django reads its settings, so the worker's REDIS_URL (and
every process a test starts from it: Celery workers, ``manage.py``) points at its own database, and two
workers' queues, rate-limit buckets and circuit breakers never meet. Without xdist it does nothing.
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
