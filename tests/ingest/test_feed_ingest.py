"""Feeds end to end: a real HTTP server on loopback serves recorded responses in the real formats;
the service fetches, stores, records a FeedRun and schedules the next fetch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import time_machine

from digest.models import Feed, FeedRun, Paper
from digest.services.ingest.runs import feed_ingest
from tests.ingest.conftest import (
    ArxivEntry,
    Reply,
    arxiv_api_feed,
    arxiv_rss_feed,
    feed_make,
    fixture_bytes,
    hf_daily_items,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)  # a Wednesday morning
ATOM = "application/atom+xml; charset=utf-8"
JSON = "application/json; charset=utf-8"


def entries(corpus, ids: list[str], **fields) -> list[ArxivEntry]:
    return [
        ArxivEntry(arxiv_id=i, title=corpus[n].title, abstract=corpus[n].abstract, **fields) for n, i in enumerate(ids)
    ]


def query_of(request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(request.path).query).items()}


def ingest(feed: Feed, **kwargs) -> FeedRun:
    run = feed_ingest(feed_id=feed.pk, now=kwargs.pop("now", NOW), **kwargs)
    assert run is not None
    feed.refresh_from_db()
    return run


# --- arXiv API ------------------------------------------------------------------------------------


def test_an_arxiv_feed_is_read_page_by_page_until_total_results(feed_server, corpus):
    papers = entries(corpus, ["2611.00001", "2611.00002", "2611.00003"], version=2, doi="10.5555/Example.1")
    feed_server.serve(
        "/api/query",
        Reply(body=arxiv_api_feed(papers[:2], total=3), content_type=ATOM),
        Reply(body=arxiv_api_feed(papers[2:], total=3, start=2), content_type=ATOM),
    )
    feed = feed_make(kind="arxiv", url=feed_server.url("/api/query"), categories="cs.LG cs.CL", params={"page_size": 2})

    run = ingest(feed)

    assert (run.status, run.fetched, run.new, run.updated, run.skipped, run.http_status) == ("ok", 3, 3, 0, 0, 200)
    starts = [query_of(r)["start"] for r in feed_server.hits("/api/query")]
    assert starts == ["0", "2"]
    query = query_of(feed_server.hits("/api/query")[0])
    assert query["search_query"].startswith("(cat:cs.LG OR cat:cs.CL) AND submittedDate:[")
    assert (query["sortBy"], query["max_results"]) == ("submittedDate", "2")
    paper = Paper.objects.get(external_id="2611.00001")
    assert (paper.arxiv_id, paper.version) == ("2611.00001", 2)
    assert paper.title == " ".join(corpus[0].title.split())
    assert paper.abstract == " ".join(corpus[0].abstract.split())
    assert paper.authors == ["Ada Lovelace", "Charles Babbage"]
    assert (paper.categories, paper.primary_category) == (["cs.LG", "cs.AI"], "cs.LG")
    assert (paper.url, paper.pdf_url) == ("https://arxiv.org/abs/2611.00001", "https://arxiv.org/pdf/2611.00001")
    assert paper.extra["doi"] == "10.5555/example.1"
    assert paper.extra["comment"] == "12 pages, 4 figures"
    assert paper.published == datetime(2026, 11, 24, 18, 59, 59, tzinfo=UTC)
    assert paper.feed == feed
    assert feed.cursor["last_published"] == "2026-11-24T18:59:59+00:00"
    assert (feed.last_status, feed.consecutive_failures) == ("ok", 0)
    assert feed.next_fetch_at == NOW + timedelta(minutes=feed.cadence_minutes)


def test_running_the_same_feed_again_adds_nothing_twice(feed_server, corpus):
    body = arxiv_api_feed(entries(corpus, ["2611.00001", "2611.00002"]))
    feed_server.serve("/api/query", Reply(body=body, content_type=ATOM))
    feed = feed_make(kind="arxiv", url=feed_server.url("/api/query"), categories="cs.LG")

    ingest(feed)
    again = ingest(feed, now=NOW + timedelta(hours=2))

    assert (again.status, again.new, again.updated) == ("ok", 0, 0)
    assert Paper.objects.count() == 2
    assert FeedRun.objects.filter(feed=feed).count() == 2


def test_the_next_window_starts_a_few_days_before_the_cursor(feed_server, corpus):
    feed_server.serve("/api/query", Reply(body=arxiv_api_feed([]), content_type=ATOM))
    feed = feed_make(
        kind="arxiv",
        url=feed_server.url("/api/query"),
        categories="cs.LG",
        cursor={"last_published": "2026-11-20T12:00:00+00:00"},
    )
    ingest(feed)
    assert "submittedDate:[202611171200 TO 202611250600]" in query_of(feed_server.hits("/api/query")[0])["search_query"]


def test_a_new_version_updates_the_paper_in_place_and_keeps_its_ingest_time(feed_server, corpus):
    first = entries(corpus, ["2611.00001"], version=1)
    feed_server.serve("/api/query", Reply(body=arxiv_api_feed(first), content_type=ATOM))
    feed = feed_make(kind="arxiv", url=feed_server.url("/api/query"), categories="cs.LG")
    with time_machine.travel(NOW, tick=False):
        ingest(feed)
    ingested_at = Paper.objects.get().ingested_at

    second = [ArxivEntry(arxiv_id="2611.00001", version=2, title=corpus[1].title, abstract=corpus[1].abstract)]
    feed_server.serve("/api/query", Reply(body=arxiv_api_feed(second), content_type=ATOM))
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        run = ingest(feed, now=NOW + timedelta(days=1))

    paper = Paper.objects.get()
    assert (run.new, run.updated) == (0, 1)
    assert (paper.version, paper.title) == (2, " ".join(corpus[1].title.split()))
    assert paper.ingested_at == ingested_at == NOW


def test_an_older_version_never_overwrites_a_newer_one(feed_server, corpus):
    feed = feed_make(kind="arxiv", url=feed_server.url("/api/query"), categories="cs.LG")
    newer = [ArxivEntry(arxiv_id="2611.00001", version=3, title=corpus[0].title, abstract=corpus[0].abstract)]
    older = [ArxivEntry(arxiv_id="2611.00001", version=1, title=corpus[1].title, abstract=corpus[1].abstract)]
    feed_server.serve("/api/query", Reply(body=arxiv_api_feed(newer), content_type=ATOM))
    ingest(feed)
    feed_server.serve("/api/query", Reply(body=arxiv_api_feed(older), content_type=ATOM))
    run = ingest(feed, now=NOW + timedelta(hours=1))
    paper = Paper.objects.get()
    assert run.updated == 0
    assert (paper.version, paper.title) == (3, " ".join(corpus[0].title.split()))


def test_the_arxiv_api_error_feed_fails_the_run_without_quoting_the_response(feed_server):
    feed_server.serve("/api/query", Reply(body=fixture_bytes("arxiv_api_error.xml"), content_type=ATOM))
    feed = feed_make(kind="arxiv", url=feed_server.url("/api/query"), categories="cs.LG")
    run = ingest(feed)
    assert run.status == "failed"
    assert run.error == "the arXiv API refused the query (check the feed's categories and params)"


def test_a_later_page_failing_keeps_the_earlier_pages_and_marks_the_run_partial(feed_server, corpus):
    papers = entries(corpus, ["2611.00001", "2611.00002", "2611.00003"])
    feed_server.serve(
        "/api/query",
        Reply(body=arxiv_api_feed(papers[:2], total=3), content_type=ATOM),
        Reply(status=500, body=b"internal error"),
    )
    feed = feed_make(kind="arxiv", url=feed_server.url("/api/query"), categories="cs.LG", params={"page_size": 2})
    run = ingest(feed)
    assert (run.status, run.new) == ("partial", 2)
    assert run.error.startswith("page 2 (start=2): HTTP 500")
    assert "last_published" not in feed.cursor  # the next run re-reads the window
    assert feed.consecutive_failures == 0


def test_an_entry_without_an_id_or_title_is_skipped_with_its_reason_and_the_rest_lands(feed_server, corpus):
    no_id, no_title, fine = entries(corpus, ["2611.00001", "2611.00002", "2611.00003"])
    no_id.raw_id = ""
    no_title.title = ""
    body = arxiv_api_feed([no_id, no_title, fine])
    feed_server.serve("/api/query", Reply(body=body, content_type=ATOM))
    feed = feed_make(kind="arxiv", url=feed_server.url("/api/query"), categories="cs.LG")
    run = ingest(feed)
    assert (run.status, run.fetched, run.new, run.skipped) == ("partial", 3, 1, 2)
    assert sorted(r["reason"] for r in run.skipped_reasons) == ["entry has no id", "entry has no title"]


# --- Hugging Face and arXiv: one paper ----------------------------------------------------------------


def hf_feed(feed_server, items: bytes, **fields) -> Feed:
    feed_server.serve("/api/daily_papers", Reply(body=items, content_type=JSON))
    return feed_make(kind="hf_daily", url=feed_server.url("/api/daily_papers"), params={"days": 1}, **fields)


def test_the_same_paper_from_arxiv_and_hugging_face_is_one_paper_with_upvotes(feed_server, corpus):
    feed_server.serve(
        "/api/query", Reply(body=arxiv_api_feed(entries(corpus, ["2611.00001"], version=2)), content_type=ATOM)
    )
    arxiv_feed = feed_make(kind="arxiv", url=feed_server.url("/api/query"), categories="cs.LG")
    ingest(arxiv_feed)
    arxiv_abstract = Paper.objects.get().abstract

    # Hugging Face has the same paper under its bare arXiv id, a slightly different abstract and 64 upvotes.
    items = hf_daily_items(
        [
            {
                "arxiv_id": "2611.00001",
                "title": corpus[0].title,
                "abstract": corpus[0].abstract + " Code is released.",
                "upvotes": 64,
                "comments": 3,
            }
        ]
    )
    hf = hf_feed(feed_server, items)
    run = ingest(hf)

    paper = Paper.objects.get()
    assert (run.new, run.updated) == (0, 1)
    assert paper.external_id == "2611.00001"
    assert (paper.popularity, paper.num_comments) == (64, 3)
    assert paper.hf_url == "https://huggingface.co/papers/2611.00001"
    assert paper.abstract == arxiv_abstract  # arXiv's text wins over Hugging Face's
    assert paper.version == 2
    assert paper.extra["ai_keywords"] == ["contrastive loss", "memory"]
    assert paper.feed == arxiv_feed


def test_upvotes_are_refreshed_on_every_fetch_without_making_the_paper_new_again(feed_server, corpus):
    paper = {"arxiv_id": "2611.00001", "title": corpus[0].title, "abstract": corpus[0].abstract, "upvotes": 5}
    hf = hf_feed(feed_server, hf_daily_items([paper]))
    with time_machine.travel(NOW, tick=False):
        ingest(hf)
    feed_server.serve("/api/daily_papers", Reply(body=hf_daily_items([{**paper, "upvotes": 120}]), content_type=JSON))
    with time_machine.travel(NOW + timedelta(hours=3), tick=False):
        run = ingest(hf, now=NOW + timedelta(hours=3))
    stored = Paper.objects.get()
    assert (run.new, run.updated) == (0, 1)
    assert stored.popularity == 120
    assert stored.ingested_at == NOW


def test_arxiv_text_replaces_hugging_face_text_when_hugging_face_came_first(feed_server, corpus):
    hf = hf_feed(
        feed_server,
        hf_daily_items(
            [{"arxiv_id": "2611.00001", "title": corpus[0].title, "abstract": "Short HF blurb.", "upvotes": 9}]
        ),
    )
    ingest(hf)
    feed_server.serve("/api/query", Reply(body=arxiv_api_feed(entries(corpus, ["2611.00001"])), content_type=ATOM))
    ingest(feed_make(kind="arxiv", url=feed_server.url("/api/query"), categories="cs.LG"))
    paper = Paper.objects.get()
    assert paper.abstract == " ".join(corpus[0].abstract.split())
    assert (paper.popularity, paper.version) == (9, 1)


def test_hugging_face_titles_and_abstracts_lose_their_hard_line_breaks_and_the_arxiv_date_is_kept(feed_server, corpus):
    hf = hf_feed(
        feed_server,
        hf_daily_items(
            [{"arxiv_id": "2611.00007", "title": corpus[3].title, "abstract": corpus[3].abstract, "upvotes": 1}]
        ),
    )
    ingest(hf)
    paper = Paper.objects.get()
    assert "\n" not in paper.title and "  " not in paper.abstract
    assert paper.title == " ".join(corpus[3].title.split())
    # paper.publishedAt (the arXiv date), not the item's publishedAt (when HF featured it).
    assert paper.published == datetime(2026, 11, 24, 17, 59, 30, tzinfo=UTC)
    assert paper.extra["hf_featured_at"] == "2026-11-25T00:57:09.392000+00:00"


def test_hugging_face_is_asked_for_each_recent_day(feed_server, corpus):
    hf = hf_feed(feed_server, b"[]")
    hf.params = {"days": 2, "sort": "trending"}
    hf.save()
    run = ingest(hf)
    dates = [query_of(r)["date"] for r in feed_server.hits("/api/daily_papers")]
    assert run.status == "ok"
    assert dates == ["2026-11-24", "2026-11-25"]
    assert query_of(feed_server.hits("/api/daily_papers")[0])["sort"] == "trending"


def test_a_hugging_face_error_object_fails_the_run_without_quoting_the_response(feed_server):
    hf = hf_feed(feed_server, b'{"error": "Invalid date parameter"}')
    run = ingest(hf)
    assert run.status == "failed"
    assert run.error == "Hugging Face returned a JSON object (an error?) instead of the list of papers"


def test_hugging_face_items_without_paper_or_title_are_skipped_and_unknown_keys_ignored(feed_server, corpus):
    good = {"arxiv_id": "2611.00001", "title": corpus[0].title, "abstract": corpus[0].abstract}
    body = hf_daily_items([good, {**good, "arxiv_id": "2611.00002", "title": ""}])
    body = body[:-1] + b', {"title": "no paper object", "brandNewKey": true}, 42]'
    run = ingest(hf_feed(feed_server, body))
    reasons = [r["reason"] for r in run.skipped_reasons]
    assert (run.status, run.new, run.skipped) == ("partial", 1, 3)
    assert reasons == ["paper 2611.00002 has no title", "item has no paper object", "item is not a JSON object"]


# --- arXiv daily listings ---------------------------------------------------------------------------


def test_the_arxiv_listing_strips_the_announcement_prefix_and_splits_creators(feed_server, corpus):
    listing = [
        ArxivEntry(arxiv_id="2611.00001", title=corpus[0].title, abstract=corpus[0].abstract, announce_type="new"),
        ArxivEntry(arxiv_id="2611.00002", title=corpus[1].title, abstract=corpus[1].abstract, announce_type="cross"),
    ]
    feed_server.serve("/atom/cs.LG+cs.AI", Reply(body=arxiv_rss_feed(listing), content_type=ATOM))
    feed = feed_make(kind="arxiv_rss", url=feed_server.url("/atom"), categories="cs.LG cs.AI")
    run = ingest(feed)
    paper = Paper.objects.get(external_id="2611.00001")
    assert (run.status, run.new) == ("ok", 2)
    assert paper.abstract == " ".join(corpus[0].abstract.split())
    assert paper.authors == ["Ada Lovelace", "Charles Babbage"]
    assert paper.version == 1


def test_replacements_in_the_listing_update_papers_we_hold_and_are_never_new_papers(feed_server, corpus):
    feed_server.serve("/api/query", Reply(body=arxiv_api_feed(entries(corpus, ["2611.00001"])), content_type=ATOM))
    ingest(feed_make(kind="arxiv", url=feed_server.url("/api/query"), categories="cs.LG"))
    listing = [
        ArxivEntry(
            arxiv_id="2611.00001",
            version=2,
            title=corpus[0].title,
            abstract=corpus[2].abstract,
            announce_type="replace",
        ),
        ArxivEntry(
            arxiv_id="2501.00009",
            version=4,
            title=corpus[1].title,
            abstract=corpus[1].abstract,
            announce_type="replace-cross",
        ),
    ]
    feed_server.serve("/atom/cs.LG", Reply(body=arxiv_rss_feed(listing), content_type=ATOM))
    run = ingest(feed_make(kind="arxiv_rss", url=feed_server.url("/atom"), categories="cs.LG"))
    assert (run.status, run.new, run.updated, run.skipped) == ("ok", 0, 1, 1)
    assert run.skipped_reasons == [
        {"entry": "oai:arXiv.org:2501.00009v4", "reason": "replacement of a paper we do not hold"}
    ]
    assert Paper.objects.get().version == 2
    assert not Paper.objects.filter(external_id="2501.00009").exists()


def test_an_unchanged_listing_is_not_fetched_twice(feed_server, corpus):
    listing = arxiv_rss_feed(entries(corpus, ["2611.00001"]))
    feed_server.serve(
        "/atom/cs.LG",
        Reply(
            body=listing,
            content_type=ATOM,
            headers={"ETag": '"listing-1"', "Last-Modified": "Wed, 25 Nov 2026 05:00:00 GMT"},
        ),
        Reply(status=304),
    )
    feed = feed_make(kind="arxiv_rss", url=feed_server.url("/atom"), categories="cs.LG")
    ingest(feed)
    run = ingest(feed, now=NOW + timedelta(hours=1))
    second = feed_server.hits("/atom/cs.LG")[1].headers
    assert (run.status, run.http_status, run.fetched) == ("not_modified", 304, 0)
    assert second["If-None-Match"] == '"listing-1"'
    assert second["If-Modified-Since"] == "Wed, 25 Nov 2026 05:00:00 GMT"
    assert feed.etag == '"listing-1"'


def test_an_empty_listing_on_a_day_without_announcements_is_fine(feed_server):
    feed_server.serve("/atom/cs.LG", Reply(body=arxiv_rss_feed([]), content_type=ATOM))
    run = ingest(feed_make(kind="arxiv_rss", url=feed_server.url("/atom"), categories="cs.LG"))
    assert (run.status, run.fetched, run.new) == ("ok", 0, 0)


# --- Any RSS/Atom feed ---------------------------------------------------------------------------------


def test_a_lab_rss_feed_is_stored_as_plain_text_without_scripts_or_unsafe_links(feed_server):
    feed_server.serve("/lab.xml", Reply(body=fixture_bytes("lab_feed_rss2.xml"), content_type="application/rss+xml"))
    feed = feed_make(kind="rss", url=feed_server.url("/lab.xml"))
    run = ingest(feed)

    assert (run.status, run.fetched, run.new, run.skipped) == ("partial", 5, 4, 1)
    assert run.skipped_reasons == [{"entry": "lab-untitled-1", "reason": "entry has no title"}]
    moe = Paper.objects.get(external_id="rss:https://lab.example.org/papers/sparse-moe")
    assert moe.title == "Sparse Mixtures of Tiny Experts & Where to Find Them"
    assert (
        moe.abstract
        == "We route tokens to tiny experts. Loss drops by 3 % & memory by half; we keep $\\mathcal{O}(n)$ cost."
    )
    assert moe.authors == ["Grace Hopper", "Alan Turing"]
    assert moe.published == datetime(2026, 11, 24, 8, 30, tzinfo=UTC)
    click = Paper.objects.get(title="Click me")
    assert click.url == ""
    assert click.published is None  # "the day before yesterday" is not a date
    doi = Paper.objects.get(external_id="doi:10.5555/example.42")
    assert doi.extra["doi"] == "10.5555/example.42"
    assert not Paper.objects.filter(abstract__icontains="alert").exists()


def test_an_entry_without_an_id_is_recognised_by_title_and_first_author_on_the_next_fetch(feed_server):
    feed_server.serve("/lab.xml", Reply(body=fixture_bytes("lab_feed_rss2.xml"), content_type="application/rss+xml"))
    feed = feed_make(kind="rss", url=feed_server.url("/lab.xml"))
    ingest(feed)
    again = ingest(feed, now=NOW + timedelta(hours=1))
    assert (again.new, again.updated) == (0, 0)
    assert Paper.objects.filter(title="Robust Graph Neural Networks under Edge Noise").count() == 1


def test_an_id_less_paper_learns_its_arxiv_id_when_arxiv_announces_it(feed_server, corpus):
    feed_server.serve("/lab.xml", Reply(body=fixture_bytes("lab_feed_rss2.xml"), content_type="application/rss+xml"))
    ingest(feed_make(kind="rss", url=feed_server.url("/lab.xml")))
    same = [
        ArxivEntry(
            arxiv_id="2611.00042",
            title="Robust graph neural networks under edge-noise",
            abstract=corpus[0].abstract,
            authors=["Emilie du Chatelet"],
        )
    ]
    feed_server.serve("/api/query", Reply(body=arxiv_api_feed(same), content_type=ATOM))
    run = ingest(feed_make(kind="arxiv", url=feed_server.url("/api/query"), categories="cs.LG"))
    assert (run.new, run.updated) == (0, 1)
    paper = Paper.objects.get(arxiv_id="2611.00042")
    assert paper.external_id == "2611.00042"
    assert paper.abstract == " ".join(corpus[0].abstract.split())


def test_a_wrong_charset_header_does_not_garble_utf8_text(feed_server):
    body = fixture_bytes("lab_feed_rss2.xml").replace(b"Robust Graph", "Schrödinger Graph".encode())
    feed_server.serve("/lab.xml", Reply(body=body, content_type="text/xml; charset=iso-8859-1"))
    ingest(feed_make(kind="rss", url=feed_server.url("/lab.xml")))
    assert Paper.objects.filter(title="Schrödinger Graph Neural Networks under Edge Noise").exists()


def test_a_latin1_feed_without_any_charset_is_still_read(feed_server):
    text = fixture_bytes("lab_feed_rss2.xml").decode("utf-8").replace('<?xml version="1.0" encoding="UTF-8"?>', "")
    text = text.replace("Robust Graph", "Schrödinger Graph").replace("Example Lab — new", "Example Lab new")
    body = text.replace("Émilie du Châtelet", "Emilie").encode("latin-1")
    feed_server.serve("/lab.xml", Reply(body=body, content_type="application/xml"))
    ingest(feed_make(kind="rss", url=feed_server.url("/lab.xml")))
    assert Paper.objects.filter(title="Schrödinger Graph Neural Networks under Edge Noise").exists()


def test_the_rss2_flavour_of_the_arxiv_listing_reads_the_same(feed_server, corpus):
    from string import Template
    from xml.sax.saxutils import escape

    feed_server.serve("/api/query", Reply(body=arxiv_api_feed(entries(corpus, ["2611.00001"])), content_type=ATOM))
    ingest(feed_make(kind="arxiv", url=feed_server.url("/api/query"), categories="cs.LG"))
    body = Template(fixture_bytes("arxiv_rss2_feed.xml").decode()).substitute(
        arxiv_id="2611.00001", title=escape(corpus[0].title), abstract=escape(corpus[4].abstract)
    )
    feed_server.serve("/rss/cs.LG", Reply(body=body.encode(), content_type="application/rss+xml"))
    # The operator may give the full listing URL; the categories are not appended twice.
    run = ingest(feed_make(kind="arxiv_rss", url=feed_server.url("/rss/cs.LG"), categories="cs.LG"))
    paper = Paper.objects.get()
    assert (run.status, run.new, run.updated) == ("ok", 0, 1)
    assert (paper.version, paper.abstract) == (2, " ".join(corpus[4].abstract.split()))


def test_arxiv_pages_are_spaced_by_the_politeness_delay(feed_server, fast_http, corpus):
    from digest.ingest.http import HostThrottle, HttpClient

    fast_http.PAPERBOY_ARXIV_DELAY_SECONDS = 0.5
    waits: list[float] = []
    client = HttpClient.from_settings(sleep=waits.append, throttle=HostThrottle())
    papers = entries(corpus, ["2611.00001", "2611.00002"])
    feed_server.serve(
        "/api/query",
        Reply(body=arxiv_api_feed(papers[:1], total=2), content_type=ATOM),
        Reply(body=arxiv_api_feed(papers[1:], total=2, start=1), content_type=ATOM),
    )
    feed = feed_make(kind="arxiv", url=feed_server.url("/api/query"), categories="cs.LG", params={"page_size": 1})
    run = feed_ingest(feed_id=feed.pk, now=NOW, client=client)
    assert (run.status, run.new) == ("ok", 2)
    assert len(waits) == 1
    assert 0.4 < waits[0] <= 0.5
