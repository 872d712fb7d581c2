"""Files on the server are the operator's, never a moderator's (security review M2).

Mo (a moderator) may add and edit feeds in the admin, but cannot make one read a file; only
``manage.py add_feed`` creates a file feed, and only under PAPERBOY_IMPORT_DIR. Every change to a
feed is logged with its old and new values.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.management import CommandError, call_command

from digest.models import Feed, FeedRun, Paper
from digest.services.ingest.runs import feed_ingest

pytestmark = pytest.mark.django_db

FEEDS_URL = "/admin/digest/feed/"


@pytest.fixture
def import_dir(settings, tmp_path):
    directory = tmp_path / "import"
    directory.mkdir()
    settings.PAPERBOY_IMPORT_DIR = str(directory)
    return directory


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "operator-secret.jsonl"
    path.write_text(json.dumps({"title": "SECRET-FILE-LINE", "abstract": "operator's private seed"}) + "\n")
    return path


def form_data(**fields) -> dict:
    data = {
        "name": "Lab feed",
        "kind": "rss",
        "url": "https://lab.example.org/feed.xml",
        "categories": "",
        "params": "{}",
        "cadence_minutes": 60,
        "next_fetch_at_0": "",
        "next_fetch_at_1": "",
    }
    data.update(fields)
    return data


def test_a_moderator_cannot_add_a_feed_that_reads_a_server_file(mo_client, secret_file):
    response = mo_client.post(f"{FEEDS_URL}add/", form_data(name="mod-jsonl", kind="jsonl", url=str(secret_file)))

    assert response.status_code == 200
    assert "can only be added with manage.py add_feed" in response.content.decode()
    assert not Feed.objects.filter(name="mod-jsonl").exists()


@pytest.mark.parametrize("kind", ["rss", "hf_daily", "arxiv"])
def test_a_path_is_refused_for_every_kind(mo_client, kind):
    response = mo_client.post(
        f"{FEEDS_URL}add/", form_data(name="x", kind=kind, url="/etc/hostname", categories="cs.LG")
    )
    assert response.status_code == 200
    assert not Feed.objects.filter(name="x").exists()


def test_a_moderator_cannot_turn_an_approved_feed_into_a_file_feed(mo_client, secret_file):
    feed = Feed.objects.create(name="h-ok", kind="rss", url="https://lab.example.org/feed.xml")

    response = mo_client.post(
        f"{FEEDS_URL}{feed.pk}/change/", form_data(name="h-ok", kind="jsonl", url=str(secret_file))
    )

    assert response.status_code == 200
    feed.refresh_from_db()
    assert (feed.kind, feed.url) == ("rss", "https://lab.example.org/feed.xml")


def test_an_operators_file_feed_keeps_its_kind_and_url_out_of_the_form(mo_client, import_dir):
    (import_dir / "seed.jsonl").write_text('{"title": "T", "abstract": "A"}\n')
    call_command("add_feed", "--kind", "jsonl", "--name", "Seed", "--url", str(import_dir / "seed.jsonl"))
    feed = Feed.objects.get(name="Seed")

    page = mo_client.get(f"{FEEDS_URL}{feed.pk}/change/").content.decode()
    response = mo_client.post(
        f"{FEEDS_URL}{feed.pk}/change/", form_data(name="Seed", kind="jsonl", url="/etc/shadow", cadence_minutes=30)
    )

    assert 'name="url"' not in page and 'name="kind"' not in page
    assert response.status_code == 302
    feed.refresh_from_db()
    assert (feed.url, feed.cadence_minutes) == (str(import_dir / "seed.jsonl"), 30)


def test_every_changed_field_is_logged_with_its_old_and_new_value(mo_client, mo):
    feed = Feed.objects.create(name="Lab", kind="rss", url="https://lab.example.org/feed.xml", cadence_minutes=60)

    mo_client.post(
        f"{FEEDS_URL}{feed.pk}/change/",
        form_data(name="Lab", url="https://mirror.example.org/lab.xml", cadence_minutes=15, params='{"days": 2}'),
    )

    entry = LogEntry.objects.get(object_id=str(feed.pk), action_flag=CHANGE, user=mo)
    message = entry.get_change_message()
    assert "'https://lab.example.org/feed.xml' → 'https://mirror.example.org/lab.xml'" in message
    assert "'60' → '15'" in message
    assert """'{}' → '{"days": 2}'""" in message


def test_add_feed_takes_files_only_from_the_import_directory(import_dir, secret_file, tmp_path):
    (import_dir / "ok.jsonl").write_text('{"title": "T", "abstract": "A"}\n')
    (import_dir / "escape.jsonl").symlink_to(secret_file)

    call_command("add_feed", "--kind", "jsonl", "--name", "ok", "--url", "ok.jsonl")
    for name, url in [("abs", str(secret_file)), ("dots", str(import_dir / ".." / secret_file.name)),
                      ("link", str(import_dir / "escape.jsonl"))]:  # fmt: skip
        with pytest.raises(CommandError, match="must be under PAPERBOY_IMPORT_DIR"):
            call_command("add_feed", "--kind", "jsonl", "--name", name, "--url", url)

    assert list(Feed.objects.values_list("name", "url")) == [("ok", str(import_dir / "ok.jsonl"))]


def test_a_file_feed_outside_the_import_directory_is_never_read(import_dir, secret_file):
    # However the row came to point there (an old row, a database edit), the fetcher checks again.
    feed = Feed.objects.create(name="old", kind="jsonl", url=str(secret_file))

    run = feed_ingest(feed_id=feed.pk)

    assert run.status == FeedRun.Status.FAILED
    assert "must be under PAPERBOY_IMPORT_DIR" in run.error
    assert not Paper.objects.exists()
