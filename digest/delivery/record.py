"""Recording what the relay accepted, through a database restart.

Once the relay has said 250, the message is delivered whatever happens to us; what is left is to
write that down. If the database is unreachable at that moment (restarting, failing over, a network
blip) and the worker simply gives up, the row stays ``sending`` and the sweeper later sends the digest
a second time. :func:`database_retrying` keeps trying instead: it drops the broken connection, waits
(0.2 s, doubling, at most 5 s between tries) and writes again, for up to ``seconds``. Only then does
it give up and leave the row to the sweeper (a worker killed meanwhile leaves it there too: the
unavoidable case, docs/DELIVERY.md "Reconciliation").
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

import psycopg
from django.db import InterfaceError, OperationalError, connection
from django.utils import timezone

logger = logging.getLogger(__name__)
T = TypeVar("T")

# What an unreachable database raises: through Django's wrappers, and from the raw psycopg cursors of the
# hot statements (digest.db.server_bound_cursor), which Django does not wrap.
DATABASE_DOWN: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)

FIRST_WAIT = 0.2
LONGEST_WAIT = 5.0


def database_retrying(write: Callable[[datetime | None], T], *, what: str, seconds: float) -> T:
    """Run ``write(None)`` (one transaction), then ``write(now)`` again and again while the database is
    unreachable: a claim written after an outage carries the time it was made, not the time of the first
    try."""
    deadline = time.monotonic() + seconds
    wait = FIRST_WAIT
    tries = 0
    while True:
        tries += 1
        try:
            result = write(timezone.now() if tries > 1 else None)
        except DATABASE_DOWN as exc:
            if time.monotonic() + wait > deadline:
                logger.error("database unavailable while %s; gave up after %s tries: %s", what, tries, exc)
                raise
            logger.warning("database unavailable while %s (try %s): %s; retrying in %.1f s", what, tries, exc, wait)
            _connection_drop()
            time.sleep(wait)
            wait = min(wait * 2, LONGEST_WAIT)
            continue
        if tries > 1:
            logger.warning("database back: %s after %s tries", what, tries)
        return result


def _connection_drop() -> None:
    """Forget this thread's broken connection, so the next query opens a new one."""
    try:
        connection.close()
    except Exception:  # closing a dead connection may itself fail; it is gone either way
        logger.debug("closing the broken database connection failed", exc_info=True)
