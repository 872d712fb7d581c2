"""``ingest_papers --jsonl``: bad lines are reported by number and skipped, good lines land once."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from digest.ingest.jsonl import file_parse
from digest.models import Paper
from tests.ingest.conftest import Reply, feed_make

pytestmark = pytest.mark.django_db

DEMO = Path(__file__).resolve().parents[2] / "digest" / "demo" / "papers.jsonl"


def write_lines(path: Path, lines: list) -> Path:
    path.write_bytes(
        b"\n".join(line if isinstance(line, bytes) else json.dumps(line).encode() for line in lines) + b"\n"
    )
    return path


def run_command(path: Path, *extra: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("ingest_papers", "--jsonl", str(path), *extra, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_bad_lines_are_reported_with_their_line_number_and_the_good_lines_land(tmp_path, corpus):
    path = write_lines(
        tmp_path / "papers.jsonl",
        [
            {"title": corpus[0].title, "abstract": corpus[0].abstract, "id": "2611.00001v2", "authors": ["A. One"]},
            b"{not json",
            {"abstract": "no title here"},
            {"title": "   ", "abstract": "a blank title"},
            ["a", "list"],
            {"title": corpus[1].title},
            b"\xff\xfe broken bytes",
            {"title": corpus[2].title, "abstract": corpus[2].abstract, "published": "whenever"},
        ],
    )

    out, err = run_command(path)

    assert "read 8, new 2, updated 0, unchanged 0, skipped 6" in out
    assert err.splitlines() == [
        f"{path}: line 2: skipped: not valid JSON (Expecting property name enclosed in double quotes at column 2)",
        f"{path}: line 3: skipped: missing title",
        f"{path}: line 4: skipped: missing title",
        f"{path}: line 5: skipped: not a JSON object (got list)",
        f"{path}: line 6: skipped: missing abstract",
        f"{path}: line 7: skipped: not valid UTF-8",
    ]
    first = Paper.objects.get(external_id="2611.00001")
    assert (first.version, first.authors) == (2, ["A. One"])
    assert Paper.objects.get(title=" ".join(corpus[2].title.split())).published is None


def test_running_the_import_again_adds_nothing_twice(tmp_path, corpus):
    path = write_lines(tmp_path / "papers.jsonl", [{"title": p.title, "abstract": p.abstract} for p in corpus[:20]])
    run_command(path)
    out, _ = run_command(path)
    assert "new 0, updated 0, unchanged 20, skipped 0" in out
    assert Paper.objects.count() == 20


def test_duplicates_by_normalised_title_are_merged(tmp_path):
    path = write_lines(
        tmp_path / "papers.jsonl",
        [
            {"title": "Scaling Laws for Tiny Models", "abstract": "First.", "authors": ["Ada Lovelace"]},
            {"title": "  scaling laws for\ntiny models.", "abstract": "Second.", "authors": ["A. Lovelace"]},
            {
                "id": "doi:10.5555/x.1",
                "title": "SCALING LAWS FOR TINY MODELS",
                "abstract": "Third.",
                "authors": ["Lovelace, Ada"],
            },
            {"title": "Scaling Laws for Tiny Models", "abstract": "Someone else's.", "authors": ["Alan Turing"]},
        ],
    )
    out, _ = run_command(path)
    assert "new 2" in out
    assert Paper.objects.filter(title_key="scaling laws for tiny models").count() == 2


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        run_command(tmp_path / "nope.jsonl")


def test_strict_mode_fails_when_a_line_was_skipped(tmp_path):
    path = write_lines(tmp_path / "papers.jsonl", [{"title": "T", "abstract": "A"}, b"oops"])
    with pytest.raises(CommandError, match="1 line"):
        run_command(path, "--strict")
    assert Paper.objects.count() == 1


def test_a_jsonl_feed_can_be_read_over_http(feed_server):
    body = b'{"title": "Remote paper", "abstract": "Served over HTTP."}\n'
    feed = feed_make(
        kind="jsonl", url=feed_server.serve("/papers.jsonl", Reply(body=body, content_type="application/jsonl"))
    )
    from digest.services.ingest.runs import feed_ingest

    run = feed_ingest(feed_id=feed.pk)
    assert (run.status, run.new) == ("ok", 1)


def test_the_demo_sample_is_clean_and_covers_the_demo_interests():
    records, skipped = file_parse(DEMO)
    assert skipped == []
    assert len(records) >= 40
    assert len({r.title for r in records}) == len(records)
    text = " ".join(f"{r.title} {r.abstract}".lower() for r in records)
    for topic in [
        "diffusion",
        "video generation",
        "reasoning",
        "chain of thought",
        "reinforcement learning",
        "robot",
        "graph neural network",
        "retrieval augmented",
        "llm",
    ]:
        assert text.count(topic) >= 2, topic
    assert all("<" not in r.title for r in records)


def test_a_feed_suggested_by_a_user_never_reads_a_local_file(tmp_path):
    from accounts.models import User
    from digest.services.ingest.runs import feed_ingest

    path = write_lines(tmp_path / "papers.jsonl", [{"title": "T", "abstract": "A"}])
    feed = feed_make(kind="jsonl", url=str(path), suggested_by=User.objects.create(email="eve@example.org"))
    run = feed_ingest(feed_id=feed.pk)
    assert run.status == "failed"
    assert "must use an http(s) URL" in run.error
    assert not Paper.objects.exists()


def test_upvotes_in_a_line_become_the_papers_popularity_and_anything_else_is_ignored():
    from digest.ingest.jsonl import line_parse

    def upvotes(value) -> int | None:
        return line_parse(json.dumps({"title": "T", "abstract": "A", "upvotes": value}).encode()).popularity

    assert upvotes(128) == 128
    assert upvotes(0) == 0
    assert [upvotes(v) for v in (-3, "128", True, 1.5, None)] == [None] * 5
