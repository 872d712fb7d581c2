"""Planning: batches of rows, each batch's chunks handed over once committed."""

from __future__ import annotations

from datetime import UTC

import pytest
from hypothesis import given
from hypothesis import strategies as st

from digest.delivery.plan import deliveries_plan
from digest.models import Delivery, DeliveryRun
from tests.delivery.conftest import readers_due

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)
def test_planning_hands_over_each_batch_of_chunks_as_soon_as_it_is_committed(monkeypatch, settings):
    from django.db import connection

    from digest.delivery.plan import shards as delivery_plan

    monkeypatch.setattr(delivery_plan, "PLAN_BATCH", 2)
    settings.PAPERBOY_CHUNK_SIZE = 1
    readers = readers_due(5, prefix="batch")
    handed: list[list[list[int]]] = []

    def on_chunks(chunks: list[list[int]]) -> None:
        assert not connection.in_atomic_block, "the batch is committed before its chunks are queued"
        ids = [i for chunk in chunks for i in chunk]
        assert Delivery.objects.filter(id__in=ids, state=Delivery.State.PENDING).count() == len(ids)
        (run,) = DeliveryRun.objects.all()
        assert run.planned == Delivery.objects.count(), "the run's count follows its batches"
        handed.append(chunks)

    plan = deliveries_plan(on_chunks=on_chunks)

    # The first batch is one chunk (the workers start at once), then PLAN_BATCH rows at a time.
    assert [len(chunks) for chunks in handed] == [1, 2, 2]
    assert [i for chunks in handed for chunk in chunks for i in chunk] == [i for chunk in plan.chunks for i in chunk]
    assert plan.planned == 5 == len(readers)
    again = deliveries_plan(on_chunks=on_chunks)
    assert again.run is None and len(handed) == 3, "a second plan of the same slot plans nothing new"


def test_the_due_subscribers_are_split_into_bounded_shards_that_plan_only_their_own(settings):
    settings.PAPERBOY_PLAN_SHARD_SIZE = 2
    readers = readers_due(5, prefix="shard")
    from django.utils import timezone

    from digest.delivery.plan import deliveries_plan_shard, plan_shards

    now = timezone.now()
    shards = plan_shards(now=now)
    ids = [r.id for r in readers]
    assert shards == [(ids[0], ids[1]), (ids[2], ids[3]), (ids[4], ids[4])]

    second = deliveries_plan_shard(first_id=ids[2], last_id=ids[3], now=now)
    assert sorted(Delivery.objects.values_list("subscription_id", flat=True)) == ids[2:4]
    assert second.planned == 2 and len(second.chunks) == 1
    # Planned again (a redelivered task, a second planner): nothing twice, and the others are still due.
    assert deliveries_plan_shard(first_id=ids[2], last_id=ids[3], now=now).planned == 0
    assert plan_shards(now=now) == [(ids[0], ids[1]), (ids[4], ids[4])]
    assert deliveries_plan(now=now).planned == 3
    assert Delivery.objects.count() == 5 and plan_shards(now=now) == []


def test_the_shards_of_one_window_build_its_paper_index_once_per_process(monkeypatch, settings):
    from digest.delivery import window as delivery_window
    from digest.matching import PaperIndex

    settings.PAPERBOY_PLAN_SHARD_SIZE = 2
    builds = []
    real_build = PaperIndex.build.__func__
    monkeypatch.setattr(PaperIndex, "build", classmethod(lambda cls, docs: builds.append(1) or real_build(cls, docs)))
    monkeypatch.setattr(delivery_window, "_WINDOWS", type(delivery_window._WINDOWS)())
    readers_due(6, prefix="window")

    plan = deliveries_plan()

    assert plan.planned == 6 and len(builds) == 1, "three shards, one index"
    assert Delivery.objects.filter(state=Delivery.State.PENDING).count() == 6


def test_a_window_whose_papers_changed_is_built_again(monkeypatch):
    from datetime import UTC, datetime, timedelta

    from digest.delivery import window as delivery_window
    from tests.factories import paper_make

    monkeypatch.setattr(delivery_window, "_WINDOWS", type(delivery_window._WINDOWS)())
    now = datetime.now(UTC)
    start = now - timedelta(days=1)
    paper_make(title="Diffusion one", abstract="diffusion", ingested_at=now - timedelta(hours=2))
    first = delivery_window.plan_window(start=start, end=now)
    assert delivery_window.plan_window(start=start, end=now) is first
    late = paper_make(title="Diffusion two", abstract="diffusion", ingested_at=now - timedelta(hours=1))
    second = delivery_window.plan_window(start=start, end=now)
    assert second is not first and late.id in [d.key for d in second.docs]


@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "paper": st.integers(0, 10**9),
                "score": st.floats(0, 1e6, allow_nan=False),
                "snippet": st.text(max_size=50),
                "reasons": st.lists(
                    st.fixed_dictionaries({"interest": st.text(max_size=10), "terms": st.lists(st.text(max_size=5))})
                ),
            }
        ),
        max_size=6,
    ),
    st.lists(st.integers(0, 5), max_size=12),
)
def test_content_json_writes_exactly_what_json_dumps_writes(entries, picks):
    import json

    from digest.content import ContentJson

    encoder = ContentJson()
    rows = [[entries[i] for i in picks if i < len(entries)], list(entries), []]
    for content in rows + rows:  # the second time, from the kept texts
        assert encoder.dumps(content) == json.dumps(content)
        assert json.loads(encoder.dumps(content)) == content


@given(
    st.one_of(
        st.lists(st.integers(-(2**40), 2**40)),
        st.lists(st.text()),
        st.lists(st.one_of(st.none(), st.datetimes(timezones=st.just(UTC)), st.dates())),
        st.lists(st.one_of(st.none(), st.booleans(), st.integers(), st.text(), st.dates()), max_size=8),
    )
)
def test_a_column_written_in_bulk_for_copy_is_each_value_written_alone(values):
    """``_copy_column`` (the planner's COPY text, column by column) writes what ``_copy_text`` writes
    for each value: ints, strings to escape or not, dates shared between rows, mixed columns."""
    from digest.delivery.pg import _copy_column, _copy_text

    assert _copy_column(values) == [_copy_text(value) for value in values]


def _planned_row(subscription, run, content, **extra):
    """A planned row as the planner hands it to ``deliveries_insert`` (slot 10 March 2026, noon UTC)."""
    import json
    from datetime import datetime, timedelta

    from digest.delivery.pg import PlannedRow

    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    values = {
        "subscription_id": subscription.id,
        "run_id": run.id,
        "slot": now.date(),
        "kind": Delivery.Kind.DIGEST.value,
        "state": Delivery.State.PENDING.value,
        "send_at": now,
        "expires_at": now + timedelta(hours=6),
        "to_email": subscription.user.email,
        "message_id": f"<{subscription.id}@example.org>",
        "content": content,
        "paper_count": len(content),
        "last_error": "",
        "planned_at": now,
        "window_start": None,
        "window_end": now,
        **extra,
    }
    return PlannedRow(values=values, content_json=json.dumps(content))


def test_rows_written_with_copy_are_those_the_unnest_insert_writes_and_only_new_ones_come_back():
    from datetime import datetime

    from django.db import connection, transaction

    from digest.delivery.pg import deliveries_insert, deliveries_insert_unnest

    if connection.vendor != "postgresql":
        pytest.skip("the COPY path is PostgreSQL's")
    readers = readers_due(4, prefix="copy")
    run = DeliveryRun.objects.create(slot=datetime.now(UTC).date())
    # Text that COPY must escape: a backslash, a tab, a newline, quotes, non-ASCII.
    content = [{"paper": 1, "score": 0.5, "snippet": 'a\\b\t"c"\nd é', "reasons": []}]

    def row(subscription, **extra):
        return _planned_row(subscription, run, content, last_error="tab\there \\ back", **extra)

    with transaction.atomic():
        deliveries_insert_unnest(rows=[row(readers[0]), row(readers[1])])
        inserted = deliveries_insert(rows=[row(readers[1]), row(readers[2]), row(readers[3], state="skipped")])
    assert sorted(state for _, state in inserted) == ["pending", "skipped"], "the row planned already is not new"
    fields = ["slot", "kind", "state", "send_at", "expires_at", "content", "last_error", "attempts", "subject"]
    by_unnest = Delivery.objects.filter(subscription=readers[0]).values(*fields).get()
    by_copy = Delivery.objects.filter(subscription=readers[2]).values(*fields).get()
    assert by_copy == by_unnest and by_copy["content"] == content
    assert {i for i, _ in inserted} == set(
        Delivery.objects.filter(subscription__in=readers[2:]).values_list("id", flat=True)
    )


def test_planned_content_is_stored_compressed_with_lz4_where_the_server_has_it():
    """Migration 0011: a digest's content (several KB of JSON) is compressed with LZ4, in the staging
    table and in the row, and reads back as it was written."""
    from datetime import UTC, datetime

    from django.db import connection, transaction

    from digest.delivery.pg import deliveries_insert

    if connection.vendor != "postgresql":
        pytest.skip("column compression is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
        if "lz4" not in cursor.fetchone()[0]:
            pytest.skip("this PostgreSQL was built without LZ4")
    (reader,) = readers_due(1, prefix="lz4")
    run = DeliveryRun.objects.create(slot=datetime.now(UTC).date())
    content = [{"paper": n, "score": 1.0, "snippet": f"words about paper {n} " * 20, "reasons": []} for n in range(20)]
    with transaction.atomic():
        deliveries_insert(rows=[_planned_row(reader, run, content)])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_column_compression(content) FROM digest_delivery WHERE subscription_id = %s", [reader.id]
        )
        assert cursor.fetchone()[0] == "lz4"
    assert Delivery.objects.get(subscription=reader).content == content


@pytest.mark.parametrize("size", [1, 2, 3, 7])
def test_the_shards_cut_by_the_database_are_the_due_ids_cut_in_runs(size):
    from django.utils import timezone

    from digest.db import in_batches
    from digest.selectors.delivery import subscriptions_due_ids, subscriptions_due_shards

    readers_due(6, prefix=f"cut{size}-")
    now = timezone.now()
    ids = subscriptions_due_ids(now=now)
    assert len(ids) == 6
    assert subscriptions_due_shards(now=now, size=size) == [(b[0], b[-1]) for b in in_batches(ids, size)]


def test_the_beats_shards_plan_trending_and_library_only_subscribers_and_the_run_counts_them_all(settings):
    """Issue 18 with 17 and 19: a subscriber with only a library, or the trending digest and no interest,
    is due through the index like anyone else, and a run planned in shards adds up every shard's counts."""
    from datetime import timedelta

    from django.utils import timezone

    from digest.delivery.plan import deliveries_plan_run_shard, plan_shards, run_open_for_shards
    from digest.library.services import library_import_file
    from digest.models import Subscription
    from tests.factories import paper_make, subscriber_make
    from tests.library import samples

    settings.PAPERBOY_PLAN_SHARD_SIZE = 1
    now = timezone.now()
    paper_make(
        title="Diffusion models for protein design",
        popularity=40,
        categories=["cs.LG"],
        ingested_at=now - timedelta(hours=1),
        hf_url="https://huggingface.co/papers/2401.00001",
    )
    ada = subscriber_make(email="ada@example.org", interests=["diffusion"], send_hour=now.hour)
    tess = subscriber_make(
        email="tess@example.org", interests=[], send_hour=now.hour, digest=Subscription.Digest.TRENDING
    )
    lin = subscriber_make(email="lin@example.org", interests=[], send_hour=now.hour)
    library_import_file(subscription=lin, name="a.bib", data=samples.SCHOLAR_BIBTEX.encode())
    subscriber_make(email="nobody@example.org", interests=[], send_hour=now.hour)  # nothing to plan: never due

    shards = plan_shards(now=now)
    assert [first for first, _ in shards] == [ada.id, tess.id, lin.id]
    run = run_open_for_shards(now=now, shards=shards)
    for first, last in reversed(shards):
        run.refresh_from_db()
        assert run.planning_finished_at is None, "stamped planned only by the shard that strikes off the last"
        deliveries_plan_run_shard(run_id=run.id, first_id=first, last_id=last, now=now)

    run.refresh_from_db()
    rows = {d.subscription_id: d for d in Delivery.objects.filter(run=run)}
    assert sorted(rows) == sorted([ada.id, tess.id, lin.id])
    assert rows[tess.id].state == Delivery.State.PENDING and rows[tess.id].content[0]["paper"]
    assert rows[ada.id].state == Delivery.State.PENDING
    assert (run.planned, run.trending) == (3, 1)
    assert run.planning_finished_at is not None and plan_shards(now=now) == []


def test_the_first_shard_alone_and_the_shards_after_it_are_the_shards_of_the_whole_cut(settings):
    from django.utils import timezone

    from digest.delivery.plan import plan_shard_first, plan_shards

    settings.PAPERBOY_PLAN_SHARD_SIZE = 2
    readers_due(5, prefix="cut")
    now = timezone.now()
    whole = plan_shards(now=now)
    first = plan_shard_first(now=now)
    assert first == whole[0]
    assert plan_shards(now=now, after=first[1]) == whole[1:]


def test_the_run_stays_open_while_the_beat_cuts_the_rest_even_when_the_first_shard_is_planned_already(settings):
    """The beat queues the first shard before cutting the rest: that shard, planned at once, must not
    call the run planned (it is the only shard the run knows of yet)."""
    from django.utils import timezone

    from digest.delivery.plan import (
        deliveries_plan_run_shard,
        plan_shard_first,
        plan_shards,
        run_open_for_shards,
        run_shards_add,
    )

    settings.PAPERBOY_PLAN_SHARD_SIZE = 2
    readers = readers_due(3, prefix="cutting")
    now = timezone.now()
    first = plan_shard_first(now=now)
    run = run_open_for_shards(now=now, shards=[first], cutting=True)
    deliveries_plan_run_shard(run_id=run.id, first_id=first[0], last_id=first[1], now=now)
    run.refresh_from_db()
    assert run.planning_finished_at is None, "the beat has not said which shards are left"

    rest = plan_shards(now=now, after=first[1])
    assert rest == [(readers[2].id, readers[2].id)]
    assert run_shards_add(run_id=run.id, shards=rest) is False
    deliveries_plan_run_shard(run_id=run.id, first_id=rest[0][0], last_id=rest[0][1], now=now)
    run.refresh_from_db()
    assert run.planning_finished_at is not None and run.planned == 3


def test_a_cut_that_finds_nothing_more_after_a_planned_first_shard_finishes_the_run(settings):
    from django.utils import timezone

    from digest.delivery.plan import deliveries_plan_run_shard, plan_shard_first, run_open_for_shards, run_shards_add

    readers_due(2, prefix="alone")
    now = timezone.now()
    first = plan_shard_first(now=now)
    run = run_open_for_shards(now=now, shards=[first], cutting=True)
    deliveries_plan_run_shard(run_id=run.id, first_id=first[0], last_id=first[1], now=now)
    assert run_shards_add(run_id=run.id, shards=[]) is True
    run.refresh_from_db()
    assert run.planning_finished_at is not None and run.shards_open == []


def test_every_planned_row_gets_its_own_random_message_id(settings):
    settings.SITE_DOMAIN = "paperboy.example"
    readers_due(4, prefix="msgid")

    deliveries_plan()

    ids = list(Delivery.objects.values_list("message_id", flat=True))
    assert len(ids) == 4 and len(set(ids)) == 4, "one Message-ID per row, none shared"
    for message_id in ids:
        local, _, domain = message_id.strip("<>").partition("@")
        digits, _, label = local.partition(".")
        assert message_id[0] == "<" and message_id[-1] == ">"
        assert domain == "paperboy.example" and label == "digest"
        assert len(digits) == 32 and int(digits, 16) >= 0, "128 random bits as hex"
