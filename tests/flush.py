"""How a transactional test empties the tables after itself, on PostgreSQL: DELETE, not TRUNCATE.

A test marked ``django_db(transaction=True)`` ends with Django's ``flush``, which on PostgreSQL is one
``TRUNCATE`` of every table (31 of them). TRUNCATE gives each table a new file, so it costs the same
whether a table holds rows or not: ~0.5 s per test here, almost all of it on tables that are already
empty. ``DELETE FROM`` each table in the one transaction ``flush`` opens costs ~0.04 s and leaves the
same database: every table empty, sequences where they were (the TRUNCATE without ``RESTART IDENTITY``
leaves them too). The order of the DELETEs does not matter, because every foreign key is
``DEFERRABLE INITIALLY DEFERRED`` (Django creates them so; ``tests/test_flush.py`` checks it) and is
checked at commit, when the rows pointing at each other are gone together.

Flushes that reset sequences or cascade to tables outside the list keep Django's own TRUNCATE
(``truncate_flush_sql``, the reference the test compares with).
"""

from __future__ import annotations

from django.db.backends.postgresql.operations import DatabaseOperations

truncate_flush_sql = DatabaseOperations.sql_flush


def delete_flush_sql(self, style, tables, *, reset_sequences=False, allow_cascade=False) -> list[str]:
    if reset_sequences or allow_cascade:
        return truncate_flush_sql(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
    return [f"{style.SQL_KEYWORD('DELETE FROM')} {style.SQL_FIELD(self.quote_name(table))};" for table in tables]


def delete_flush_install() -> None:
    """Make this process's PostgreSQL flushes DELETE (tests only: loaded from tests/conftest.py)."""
    DatabaseOperations.sql_flush = delete_flush_sql  # type: ignore[method-assign]
