"""Transactional tests empty the tables by DELETE (tests/flush.py): it leaves what Django's TRUNCATE leaves."""

from __future__ import annotations

import pytest
from django.core.management.color import no_style
from django.db import connection

from digest.models import Delivery
from tests.delivery.conftest import readers_due
from tests.factories import paper_make
from tests.flush import delete_flush_sql, truncate_flush_sql

pytestmark = [pytest.mark.django_db(transaction=True)]


def table_rows() -> dict[str, int]:
    with connection.cursor() as cursor:
        counts = {}
        for table in connection.introspection.django_table_names(only_existing=True, include_views=False):
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")
            counts[table] = cursor.fetchone()[0]
        return counts


def sequences() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT sequencename, coalesce(last_value, 0) FROM pg_sequences")
        return dict(cursor.fetchall())


def rows_everywhere() -> None:
    """Rows that point at each other across tables: subscribers, their interests, a paper, deliveries."""
    from digest.delivery.plan import deliveries_plan

    readers_due(3)
    paper_make(title="Graph Neural Networks at Scale")
    deliveries_plan()
    assert Delivery.objects.count() == 3


def flush_with(sql_flush) -> tuple[dict[str, int], dict[str, int]]:
    rows_everywhere()
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    connection.ops.execute_sql_flush(sql_flush(connection.ops, no_style(), tables))
    return table_rows(), sequences()


def test_a_delete_flush_leaves_every_table_empty_and_the_sequences_as_truncate_does(postgres_db):
    after_truncate, sequences_after_truncate = flush_with(truncate_flush_sql)
    after_delete, sequences_after_delete = flush_with(delete_flush_sql)
    assert after_delete == after_truncate == dict.fromkeys(after_truncate, 0)
    # Neither restarts a sequence: the second round's ids went on from the first's.
    assert sequences_after_delete.keys() == sequences_after_truncate.keys()
    assert all(sequences_after_delete[s] >= sequences_after_truncate[s] for s in sequences_after_truncate)
    assert sequences_after_delete != sequences_after_truncate


def test_every_foreign_key_is_checked_at_commit_so_the_deletes_need_no_order(postgres_db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint "
            "WHERE contype = 'f' AND NOT (condeferrable AND condeferred)"
        )
        assert cursor.fetchall() == []


def test_the_flush_that_ends_a_transactional_test_is_the_delete_one(postgres_db):
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    assert connection.ops.sql_flush(no_style(), tables) == delete_flush_sql(connection.ops, no_style(), tables)
    # The resets and cascades Django asks for elsewhere keep its TRUNCATE.
    assert connection.ops.sql_flush(no_style(), tables, reset_sequences=True)[0].startswith("TRUNCATE")
