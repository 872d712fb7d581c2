"""PostgreSQL fast path for writing planned rows, beside its portable twin (``bulk_create``).

The other PostgreSQL-only statement, recording a ``sent`` and claiming the next row in one round
trip, is a state change: it lives in ``digest.delivery.state`` beside the ORM writes it must match.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import connection
from django.db.models import Field, JSONField

from digest.db import server_bound_cursor
from digest.models import Delivery


@dataclass(frozen=True, slots=True)
class PlannedRow:
    """A planned ``Delivery`` as plain column values (``attname`` -> value; the model's defaults for
    the rest) and its ``content`` already as JSON text (``digest.content.ContentJson``)."""

    values: dict[str, Any]
    content_json: str

    def delivery(self) -> Delivery:
        # ``content`` may be entries parsed on read (digest.content.ContentEntriesJson): a list for the field.
        return Delivery(**{**self.values, "content": list(self.values.get("content", []))})


def deliveries_insert(*, rows: Sequence[PlannedRow]) -> list[tuple[int, str]] | None:
    """Insert planned rows, skipping any whose (subscriber, slot) is planned already. Returns the
    (id, state) of the rows this call inserted, or None where the database cannot say (SQLite).

    On PostgreSQL: the rows are streamed with COPY (as text, each row's content JSON as it was
    prepared, never re-serialised) into a temporary table, then moved with one ``INSERT ... SELECT
    ... ON CONFLICT DO NOTHING RETURNING id, state``: the conflict rule stays exactly-once's guard,
    and the caller learns what it wrote without querying again. Must run inside a transaction (the
    temporary table empties at commit). Elsewhere (SQLite for ``make demo``), ``bulk_create``.
    ``deliveries_insert_unnest`` is the previous fast path, kept as a second reference.
    """
    if not rows:
        return []
    if connection.vendor != "postgresql":
        Delivery.objects.bulk_create([row.delivery() for row in rows], batch_size=500, ignore_conflicts=True)
        return None
    given = list(rows[0].values)
    fields = {f.attname: f for f in Delivery._meta.concrete_fields if not f.primary_key}
    copied = [fields[name] for name in given if name != "content"] + [fields["content"]]
    defaulted = [f for name, f in fields.items() if name not in given]
    quote = connection.ops.quote_name
    copied_columns = ", ".join(quote(str(f.column)) for f in copied)
    table = quote(Delivery._meta.db_table)
    names = [f.attname for f in copied[:-1]]
    # Column by column: a batch's values of one column share their type (and most of their five dates).
    columns = [_copy_column([row.values[name] for row in rows]) for name in names]
    columns.append([row.content_json.replace("\\", "\\\\") for row in rows])  # JSON has no raw tab or newline
    lines = ["\t".join(fields) for fields in zip(*columns, strict=True)]
    with server_bound_cursor() as cursor:
        # The staging table compresses content as the table it feeds does (LZ4: migration 0011), so the
        # INSERT below moves each compressed document as it is instead of compressing it twice.
        compression = _content_compression(cursor)  # a name from _COMPRESSIONS, or ""
        setting = f"SET LOCAL default_toast_compression = {compression}; " if compression else ""
        cursor.execute(
            f"{setting}CREATE TEMPORARY TABLE IF NOT EXISTS paperboy_planned ON COMMIT DELETE ROWS AS "  # noqa: S608
            f"SELECT {copied_columns} FROM {table} WITH NO DATA"
        )
        with cursor.copy(f"COPY paperboy_planned ({copied_columns}) FROM STDIN") as copy:
            copy.write("\n".join(lines) + "\n")
        defaults = ", ".join(f"%s::{f.db_type(connection)}" for f in defaulted)
        cursor.execute(
            f"INSERT INTO {table} ({copied_columns}{', ' if defaulted else ''}"  # noqa: S608 -- names from the model
            f"{', '.join(quote(str(f.column)) for f in defaulted)}) "
            f"SELECT {copied_columns}{', ' if defaulted else ''}{defaults} FROM paperboy_planned "
            f"ON CONFLICT DO NOTHING RETURNING id, state",
            [f.get_db_prep_save(f.get_default(), connection) for f in defaulted],
        )
        inserted = cursor.fetchall()
        cursor.execute("TRUNCATE paperboy_planned")
    return [(int(i), str(state)) for i, state in inserted]


_COMPRESSIONS = {"l": "lz4", "p": "pglz"}
_compression_of: dict[str, str] = {}  # per database: Delivery.content's compression never changes while we run


def _content_compression(cursor) -> str:
    """``lz4``, ``pglz``, or "" (the server's default) for ``Delivery.content``, read once per database."""
    name = str(connection.settings_dict["NAME"])
    found = _compression_of.get(name)
    if found is None:
        cursor.execute(
            "SELECT attcompression FROM pg_attribute WHERE attrelid = %s::regclass AND attname = 'content'",
            [Delivery._meta.db_table],
        )
        row = cursor.fetchone()
        found = _compression_of[name] = _COMPRESSIONS.get(str(row[0]) if row else "", "")
    return found


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_column(values: list[Any]) -> list[str]:
    """``_copy_text`` of each of one column's values (the reference), taking the common cases in bulk:
    ints; strings with nothing to escape; datetimes, each distinct one formatted once."""
    kinds = {type(value) for value in values}
    if kinds == {int}:
        return list(map(str, values))
    if kinds == {str} and not _COPY_SPECIAL.search("".join(values)):
        return values
    if kinds <= {datetime, date, type(None)}:
        texts = {value: _copy_text(value) for value in set(values)}
        return [texts[value] for value in values]
    return [_copy_text(value) for value in values]


_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")


def _copy_text(value: object) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def deliveries_insert_unnest(*, rows: Sequence[PlannedRow]) -> None:
    """The previous PostgreSQL path (kept as a reference for ``deliveries_insert``; a test checks both
    store the same rows): one ``INSERT ... SELECT FROM ROWS FROM (unnest(arrays),
    jsonb_array_elements(json))`` with the values bound server-side."""
    fields = [f for f in Delivery._meta.concrete_fields if not f.primary_key]
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
    params += [_document(f, rows) for f in documents]
    with server_bound_cursor() as cursor:
        cursor.execute(sql, params)


def _document(f: JSONField, rows: Sequence[PlannedRow]) -> str:
    """One JSON column of every row, as one JSON array (``content`` from its prepared text)."""
    if f.attname == "content":
        return "[" + ", ".join(row.content_json for row in rows) + "]"
    default = f.get_default()
    return json.dumps([row.values.get(f.attname, default) for row in rows], cls=f.encoder)


_NATIVE = (int, str, date, type(None))  # what psycopg binds as it is (datetime is a date; bool an int)


def _column_values(f: Field, rows: Sequence[PlannedRow]) -> list:
    """One column's values for binding (the model's default where a row leaves it out). The planner's
    values are plain Python (ints, strings, aware datetimes) that need no conversion, so Django's
    per-value ``get_db_prep_save`` (~5 µs each, 22 columns per row) is only called for anything else."""
    known = f.attname in rows[0].values
    values = [row.values[f.attname] for row in rows] if known else [f.get_default()] * len(rows)
    if all(isinstance(v, _NATIVE) for v in values):
        return values
    return [f.get_db_prep_save(v, connection) for v in values]
