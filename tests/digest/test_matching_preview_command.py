"""manage.py preview_query: a query against a JSON Lines file or the last N days, nothing written."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from digest.models import Paper
from tests.factories import paper_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def papers_file(tmp_path):
    rows = [
        {
            "id": "2401.00001",
            "title": "Video diffusion at scale",
            "abstract": "We train video diffusion models.",
            "authors": ["Ada Lovelace"],
            "categories": ["cs.CV"],
            "url": "https://arxiv.org/abs/2401.00001",
        },
        {"title": "Diffusion for medical imaging", "abstract": "Diffusion helps radiology."},
        {"title": "Graph networks", "abstract": "Message passing, no generative models."},
        {"title": "", "abstract": "a line without a title"},
    ]
    path = tmp_path / "papers.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n{not json\n", encoding="utf-8")
    return path


def run(*args, **options) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("preview_query", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def test_jsonl_format_prints_one_object_per_match_best_first(papers_file):
    out, err = run("diffusion", jsonl=str(papers_file), format="jsonl")
    records = [json.loads(line) for line in out.splitlines()]
    assert {r["title"] for r in records} == {"Video diffusion at scale", "Diffusion for medical imaging"}
    assert all(set(r) == {"title", "score", "matches", "reasons"} for r in records)
    assert all(r["matches"] == ["diffusion"] and r["reasons"] == ["diffusion"] for r in records)
    assert records[0]["score"] >= records[1]["score"]
    assert "line 4: missing title" in err and "line 5: not valid JSON" in err
    assert Paper.objects.count() == 0


def test_text_format_shows_rank_score_reasons_and_snippet(papers_file):
    out, _ = run("diffusion -medical", jsonl=str(papers_file), limit=5)
    assert out.startswith("1 match among 3 papers for: diffusion -medical")
    assert "Video diffusion at scale" in out and "medical" not in out.split("\n", 1)[1]
    assert "matched: diffusion" in out


def test_the_header_counts_every_match_even_when_the_limit_shows_fewer(papers_file):
    out, _ = run("diffusion", jsonl=str(papers_file), limit=1)
    assert out.startswith("2 matches among 3 papers (the best 1 shown) for: diffusion")
    assert out.count("matched: diffusion") == 1


def test_limit_and_muted_words_apply(papers_file):
    out, _ = run("diffusion", jsonl=str(papers_file), format="jsonl", limit=1)
    assert len(out.splitlines()) == 1
    out, _ = run("diffusion", jsonl=str(papers_file), format="jsonl", muted=["video"])
    assert [json.loads(line)["title"] for line in out.splitlines()] == ["Diffusion for medical imaging"]


def test_a_bad_query_exits_with_the_parsers_message(papers_file):
    with pytest.raises(CommandError, match=r'^Close the quote after “video”: add a " at the end of the phrase\.$'):
        run('diffusion "video', jsonl=str(papers_file))


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        run("diffusion", jsonl=str(tmp_path / "nope.jsonl"))


def test_days_reads_recent_visible_papers_from_the_database():
    paper_make(title="Recent diffusion paper")
    paper_make(title="Hidden diffusion paper", hidden=True)
    paper_make(title="Old diffusion paper", ingested_at=timezone.now() - timedelta(days=10))
    out, _ = run("diffusion", days=3, format="jsonl")
    assert [json.loads(line)["title"] for line in out.splitlines()] == ["Recent diffusion paper"]
    out, _ = run("diffusion", days=30, format="jsonl")
    assert {json.loads(line)["title"] for line in out.splitlines()} == {"Recent diffusion paper", "Old diffusion paper"}


# --- --trending (issue 19) ----------------------------------------------------------------------


def test_trending_prints_the_current_trending_papers_best_first_as_json_lines():
    now = timezone.now()
    paper_make(title="Second", popularity=50, categories=["cs.LG"], ingested_at=now - timedelta(hours=3))
    paper_make(title="First", popularity=128, categories=["cs.CV"], ingested_at=now - timedelta(hours=2))
    paper_make(title="No upvotes", popularity=None, ingested_at=now - timedelta(hours=2))
    paper_make(title="Last week", popularity=999, ingested_at=now - timedelta(days=6))
    hidden = paper_make(title="Hidden", popularity=500, ingested_at=now - timedelta(hours=1))
    Paper.objects.filter(id=hidden.id).update(hidden=True)

    out, _ = run("--trending", "--format", "jsonl", "--limit", "5")
    rows = [json.loads(line) for line in out.splitlines()]

    assert [(r["title"], r["score"], r["upvotes"], r["rank"]) for r in rows] == [
        ("First", 128, 128, 1),
        ("Second", 50, 50, 2),
    ]
    week, _ = run("--trending", "--days", "7", "--format", "jsonl", "--limit", "1")
    assert json.loads(week)["title"] == "Last week"
    vision, _ = run("--trending", "--categories", "cs.LG", "--format", "jsonl")
    assert [json.loads(line)["title"] for line in vision.splitlines()] == ["Second"]


def test_trending_refuses_a_query_and_a_query_needs_one():
    with pytest.raises(CommandError, match="neither a query"):
        run("diffusion", "--trending")
    with pytest.raises(CommandError, match="--trending"):
        run()


@pytest.fixture
def seeds_file(tmp_path):
    seeds = [{"id": "2401.00001", "title": "Video diffusion at scale", "abstract": "We train video diffusion models."}]
    path = tmp_path / "seeds.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in seeds) + "\n", encoding="utf-8")
    return path


def test_like_lists_the_papers_most_like_the_seeds_and_never_the_seeds(papers_file, seeds_file):
    out, _ = run(like=str(seeds_file), jsonl=str(papers_file), format="jsonl", limit=5)
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["title"] for r in records] == ["Diffusion for medical imaging"]
    assert records[0]["reasons"] == ["like ‘Video diffusion at scale’, from your library"]
    assert records[0]["score"] > 0


def test_a_query_with_like_is_the_digest_of_that_interest_and_that_library(papers_file, seeds_file):
    out, _ = run("graph", like=str(seeds_file), jsonl=str(papers_file), limit=5)
    assert "2 matches among 3 papers for: graph and papers like" in out
    assert "Graph networks" in out and "like ‘Video diffusion at scale’, from your library" in out
    assert "Video diffusion at scale  <" not in out  # the seed itself is never listed


def test_neither_query_nor_like_is_a_clear_error(papers_file):
    with pytest.raises(CommandError, match=r"give a query, --like SEEDS\.jsonl, or both"):
        run(jsonl=str(papers_file))
