"""``field__any=Listed(values)``: IN with the list bound as one array parameter on PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from digest.db import Listed
from digest.models import Interest
from tests.factories import ada, bo, subscriber_make

pytestmark = pytest.mark.django_db


def test_any_finds_exactly_the_rows_in_finds():
    subscriptions = [ada(), bo(), subscriber_make(email="cy@example.org", interests=["graphs"])]
    wanted = [subscriptions[0].id, subscriptions[2].id, 999_999]
    by_in = set(Interest.objects.filter(subscription_id__in=wanted).values_list("id", flat=True))
    by_any = set(Interest.objects.filter(subscription_id__any=Listed(wanted)).values_list("id", flat=True))
    assert by_any == by_in and by_in  # the same rows, and some


def test_any_takes_plain_lists_strings_and_foreign_keys():
    subscription = ada()
    assert User.objects.filter(email__any=["ada@example.org", "nobody@example.org"]).count() == 1
    assert Interest.objects.filter(subscription__any=[subscription.id]).count() == subscription.interests.count()


def test_any_of_nothing_finds_nothing():
    ada()
    assert not Interest.objects.filter(subscription_id__any=Listed([])).exists()


def test_any_is_one_array_comparison_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("the array parameter is PostgreSQL's; elsewhere __any is a plain IN list")
    subscription = ada()
    ids = [subscription.id, *range(10_000, 15_000)]
    with CaptureQueriesContext(connection) as queries:
        assert Interest.objects.filter(subscription_id__any=Listed(ids)).exists()
    assert "= ANY(" in queries.captured_queries[0]["sql"]
