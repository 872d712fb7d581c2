"""Generic database helpers: bounded IN lists, ``__any`` lists, and the server-side-bound cursor for hot statements.

Nothing here knows a model; the modules that use these know why they need them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

import psycopg
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import CharField, ForeignObject, IntegerField, Lookup

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


class Listed:
    """Values for ``__any`` (``field__any=Listed(ids)``): Django walks a plain list or tuple given to a lookup
    value by value, looking for expressions (~2 µs each: 10 ms for a shard's ids); this it passes as it is."""

    __slots__ = ("values",)

    def __init__(self, values: Iterable[object]) -> None:
        self.values = list(values)


class AnyOf(Lookup):
    """``field__any=[values]``: ``field IN (values)`` with the list bound as **one** array parameter on
    PostgreSQL (``field = ANY(%s)``). The planner asks about a shard's 5,000 subscribers several times:
    as an IN list, Django preps each value and psycopg splices 5,000 placeholders into the SQL text in
    Python (~45 ms of CPU a query); as one array, ~1 ms. Values must already be plain (ints, strings).
    Elsewhere (SQLite for ``make demo``), a plain IN list: batch with ``in_batches`` there as for IN."""

    lookup_name = "any"
    prepare_rhs = False

    def get_prep_lookup(self):
        return self.rhs.values if isinstance(self.rhs, Listed) else list(self.rhs)

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = self.rhs
        if not values:
            raise EmptyResultSet
        if connection.vendor == "postgresql":
            if all(type(v) is int for v in values):
                # As one array literal: psycopg dumps a list element by element in Python (~0.2 ms per
                # thousand); the literal is one join.
                return f"{lhs} = ANY(%s::bigint[])", [*lhs_params, "{" + ",".join(map(str, values)) + "}"]
            return f"{lhs} = ANY(%s)", [*lhs_params, values]
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]


for _field in (IntegerField, CharField, ForeignObject):
    _field.register_lookup(AnyOf)
