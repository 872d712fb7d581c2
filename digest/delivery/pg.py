"""PostgreSQL fast path for writing planned rows, beside its portable twin (``bulk_create``).

The other PostgreSQL-only statement, recording a ``sent`` and claiming the next row in one round
trip, is a state change: it lives in ``digest.delivery.state`` beside the ORM writes it must match.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date

from django.db import connection
from django.db.models import Field, JSONField

from digest.db import server_bound_cursor
from digest.models import Delivery


def deliveries_insert(*, rows: Sequence[Delivery]) -> None:
    """Insert planned rows, skipping any whose (subscriber, slot) is planned already.

    On PostgreSQL: one ``INSERT ... SELECT FROM ROWS FROM (unnest(arrays), jsonb_array_elements(json))``
    with the values bound server-side. Django's ``bulk_create`` there quotes every value client-side
    into one huge SQL string and parses it again; with ~5 KB of JSON content per row that was most of
    planning's time (5 s for 10,000 rows). The JSON column travels as one JSON document (no per-element
    array quoting). Elsewhere (SQLite for ``make demo``), ``bulk_create``.
    """
    if not rows:
        return
    if connection.vendor != "postgresql":
        Delivery.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
        return
    fields = [f for f in Delivery._meta.concrete_fields if not f.primary_key]  # defaults are set by __init__
    plain = [f for f in fields if not isinstance(f, JSONField)]
    documents = [f for f in fields if isinstance(f, JSONField)]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(f.column)) for f in [*plain, *documents])
    sources = [f"unnest({', '.join(f'%s::{f.db_type(connection)}[]' for f in plain)})"]
    sources += ["jsonb_array_elements(%s::jsonb)"] * len(documents)
    sql = (
        f"INSERT INTO {quote(Delivery._meta.db_table)} ({columns}) "  # noqa: S608 -- names from the model
        f"SELECT * FROM ROWS FROM ({', '.join(sources)}) ON CONFLICT DO NOTHING"
    )
    params: list[object] = [_column_values(f, rows) for f in plain]
    params += [json.dumps([getattr(row, f.attname) for row in rows], cls=f.encoder) for f in documents]
    with server_bound_cursor() as cursor:
        cursor.execute(sql, params)


_NATIVE = (int, str, date, type(None))  # what psycopg binds as it is (datetime is a date; bool an int)


def _column_values(f: Field, rows: Sequence[Delivery]) -> list:
    """One column's values for binding. The planner's values are plain Python (ints, strings, aware
    datetimes) that need no conversion, so Django's per-value ``get_db_prep_save`` (~5 µs each, 22
    columns per row) is only called for anything else."""
    values = [getattr(row, f.attname) for row in rows]
    if all(isinstance(v, _NATIVE) for v in values):
        return values
    return [f.get_db_prep_save(v, connection) for v in values]
