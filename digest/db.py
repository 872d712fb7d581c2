"""Generic database helpers: bounded IN lists and the server-side-bound cursor for hot statements.

Nothing here knows a model; the modules that use these know why they need them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

import psycopg
from django.db import connection

T = TypeVar("T")


def in_batches(values: Sequence[T], size: int = 5000) -> Iterator[Sequence[T]]:
    """Bounded IN lists: SQLite caps the parameters of one statement, and huge lists plan badly."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def server_bound_cursor() -> psycopg.Cursor:
    """A cursor on Django's PostgreSQL connection (inside its transaction, if any) that sends the
    parameters apart from the SQL, as PostgreSQL binds them. Django's own cursors bind client-side:
    psycopg merges every value into the SQL text (quoting large JSON in Python) and PostgreSQL parses
    it all again, on every execution; statements on the hot paths use this one instead."""
    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


def single_statement_supported() -> bool:
    # Data-modifying CTEs; SQLite (make demo) takes the portable path.
    return connection.vendor == "postgresql"
