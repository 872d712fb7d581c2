"""The live preview: what a query matched in the last 7 days, highlighted, and the next digest as a whole."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from digest.models import Paper, SentPaper
from digest.selectors import preview as preview_selectors
from digest.selectors.preview import Segment, segments
from tests import factories

pytestmark = pytest.mark.django_db


def test_segments_split_text_at_merged_clamped_spans():
    assert segments("diffusion video models", [(10, 15), (0, 9), (12, 16), (20, 99)]) == (
        Segment("diffusion", True),
        Segment(" "),
        Segment("video ", True),
        Segment("mode"),
        Segment("ls", True),
    )
    assert segments("abc", []) == (Segment("abc"),)
    assert segments("abc", [(2, 1)]) == (Segment("abc"),)


def test_highlighted_html_escapes_the_text_and_marks_only_the_spans():
    html = preview_selectors.segments_html(segments("<b>diffusion</b> & co", [(3, 12)]))
    assert html == "&lt;b&gt;<mark>diffusion</mark>&lt;/b&gt; &amp; co"


def test_while_typing_the_index_is_trusted_for_a_few_seconds(recent_papers, django_assert_num_queries):
    preview_selectors.preview_corpus()
    factories.paper_make(title="Brand new diffusion", ingested_at=timezone.now() - timedelta(minutes=1))
    with django_assert_num_queries(0):
        preview_selectors.preview_corpus()


def test_after_an_ingest_the_previous_index_answers_while_a_thread_builds_the_new_one(recent_papers, monkeypatch):
    started: list[str] = []

    class RecordingThread:
        def __init__(self, *, target, name, daemon):
            self.target = target
            started.append(name)

        def start(self):
            self.target()

    monkeypatch.setattr(preview_selectors, "RECHECK_SECONDS", 0.0)
    monkeypatch.setattr(preview_selectors, "REBUILD_IN_BACKGROUND", True)
    monkeypatch.setattr(preview_selectors.threading, "Thread", RecordingThread)
    monkeypatch.setattr(preview_selectors, "connection", type("C", (), {"close": staticmethod(lambda: None)}))
    old = preview_selectors.preview_corpus()  # the first build is synchronous: nothing to serve yet
    assert started == []
    factories.paper_make(title="Brand new diffusion", ingested_at=timezone.now() - timedelta(minutes=1))
    real_build = preview_selectors._build
    served: list = []

    def build_and_look(**kwargs):
        served.append(preview_selectors._corpus)  # while building, the old index is still the one served
        return real_build(**kwargs)

    monkeypatch.setattr(preview_selectors, "_build", build_and_look)
    assert preview_selectors.preview_corpus() is old
    assert started == ["preview-index"]
    assert served == [old]
    assert preview_selectors.preview_corpus() is not old
    assert len(preview_selectors.preview_corpus().cards) == len(old.cards) + 1


def test_a_paper_link_is_only_ever_a_web_link(ada_client):
    paper = factories.paper_make(title="Diffusion trick")
    Paper.objects.filter(id=paper.id).update(url="javascript:alert(1)")
    html = ada_client.get("/preview/", {"q": "diffusion", "fragment": "1"}).content.decode()
    assert "javascript:" not in html
    assert "Diffusion</mark> trick" in html


def test_the_fragment_lists_matches_of_the_last_seven_days_with_highlights(ada_client, recent_papers):
    response = ada_client.get("/preview/", {"q": "diffusion", "fragment": "1"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    html = response.content.decode()
    assert "<strong>2</strong> papers matched in the last 7 days" in html
    assert "Sparse <mark>Diffusion</mark> Models" in html
    assert "Medical Image" in html
    assert "An Old Diffusion Paper" not in html  # 30 days old
    assert "Hidden Diffusion Spam" not in html  # hidden by a moderator
    assert "<html" not in html  # a fragment, not a page


def test_muted_words_apply_to_the_preview(ada_client, ada_sub, recent_papers):
    ada_sub.muted_words = ["medical"]
    ada_sub.save()
    html = ada_client.get("/preview/", {"q": "diffusion", "fragment": "1"}).content.decode()
    assert "<strong>1</strong> paper matched" in html
    assert "Medical Image" not in html


def test_a_malformed_query_previews_in_plain_words_with_the_spot_marked(ada_client, recent_papers):
    html = ada_client.get("/preview/", {"q": '"video generation', "fragment": "1"}).content.decode()
    assert 'class="query-error" role="alert"' in html
    assert "Close the quote after “video generation”" in html
    assert "<code><mark>&quot;</mark>video generation</code>" in html
    assert "position" not in html and "Unbalanced" not in html and "\\" not in html


def test_an_overlong_query_previews_as_an_error(ada_client, recent_papers):
    html = ada_client.get("/preview/", {"q": "diffusion " * 40, "fragment": "1"}).content.decode()
    assert "at most 300 characters" in html


def test_the_next_digest_combines_all_interests_and_the_one_being_typed(bo_client, recent_papers):
    html = bo_client.get("/preview/", {"q": "video", "fragment": "1"}).content.decode()
    assert "Your next digest, with this query" in html
    next_digest = html.split("Your next digest")[1]
    assert "Traces Make Better Teachers" in next_digest  # from Bo's own "reasoning" interest
    assert "Sparse Diffusion Models for Long" in next_digest  # from the query being typed


def test_editing_an_interest_previews_the_digest_with_it_replaced(bo_client, bo_sub, recent_papers):
    reasoning = bo_sub.interests.get(query="reasoning")
    llm = bo_sub.interests.get(query="LLM")
    llm.delete()
    html = bo_client.get("/preview/", {"q": "diffusion", "interest": reasoning.id, "fragment": "1"}).content.decode()
    next_digest = html.split("Your next digest")[1]
    assert "Traces Make Better Teachers" not in next_digest
    assert "Models for Long Video Generation" in next_digest


def test_papers_already_received_are_not_in_the_next_digest(ada_client, ada_sub, recent_papers):
    SentPaper.objects.create(subscription=ada_sub, paper=recent_papers["video"])
    html = ada_client.get("/preferences/").content.decode()
    panel = html.split("data-preview-panel")[1]
    assert "Medical Image" in panel
    assert "Long Video Generation" not in panel


def test_without_javascript_the_preview_button_posts_to_a_full_page(ada_client, recent_papers):
    response = ada_client.post_form("/preview/", {"query": "diffusion -medical"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html
    assert "<strong>1</strong> paper matched" in html
    assert 'value="diffusion -medical"' in html
    assert 'action="/preferences/interests/"' in html  # "Add this interest" right there


def test_the_no_js_preview_of_an_existing_interest_offers_to_save_it(ada_client, ada_sub, recent_papers):
    interest = ada_sub.interests.get(query="diffusion")
    html = ada_client.post_form(
        "/preview/", {"interest": interest.id, f"i{interest.id}-query": "diffusion video"}
    ).content.decode()
    assert f'action="/preferences/interests/{interest.id}/"' in html
    assert "Save this interest" in html


def test_another_subscribers_interest_id_is_previewed_as_a_new_query(ada_client, bo_sub, recent_papers):
    theirs = bo_sub.interests.get(query="reasoning")
    html = ada_client.get("/preview/", {"q": "diffusion", "interest": theirs.id}).content.decode()
    assert "Save this interest" not in html
    assert "reasoning" not in html.split("<main")[1].split("Your next digest")[0]


def test_example_chips_link_to_the_preview_without_javascript(ada_client):
    html = ada_client.get("/preferences/").content.decode()
    assert 'href="/preview/?q=title%3Areasoning%20LLM%20-survey"' in html


def test_the_index_is_reused_until_the_papers_change(recent_papers, django_assert_max_num_queries, monkeypatch):
    monkeypatch.setattr(preview_selectors, "RECHECK_SECONDS", 0.0)
    first = preview_selectors.preview_corpus()
    assert preview_selectors.preview_corpus() is first
    factories.paper_make(title="Brand new diffusion", ingested_at=timezone.now() - timedelta(minutes=1))
    second = preview_selectors.preview_corpus()
    assert second is not first
    recent_papers["video"].hidden = True
    recent_papers["video"].save()
    assert preview_selectors.preview_corpus() is not second
    # A cached answer costs one aggregate query, not a reload of the week's papers.
    with django_assert_max_num_queries(1):
        preview_selectors.preview_corpus()


def test_preview_on_an_empty_week_says_so(ada_client):
    html = ada_client.get("/preview/", {"q": "diffusion", "fragment": "1"}).content.decode()
    assert "<strong>0</strong> papers matched" in html
    assert "No papers have come in during the last 7 days" in html


def test_the_preview_finds_a_spelled_out_acronym_and_says_how_it_matched(ada_client, recent_papers):
    factories.paper_make(
        title="Scaling Large Language Models",
        abstract="We study how large language models behave when trained on modelling data.",
        ingested_at=timezone.now() - timedelta(hours=1),
    )
    html = ada_client.get("/preview/", {"q": "LLM", "fragment": "1"}).content.decode()
    assert "<strong>2</strong> papers matched" in html
    assert "Scaling <mark>Large Language Models</mark>" in html
    assert "LLM, as &#x27;large language model&#x27;" in html
    html = ada_client.get("/preview/", {"q": "=LLM", "fragment": "1"}).content.decode()
    assert "<strong>1</strong> paper matched" in html
    html = ada_client.get("/preview/", {"q": "modeling", "fragment": "1"}).content.decode()
    assert "<mark>modelling</mark>" in html
    assert "modeling, as &#x27;modelling&#x27;" in html


def test_the_query_help_shows_the_exact_word_syntax_and_the_equivalences(ada_client):
    html = ada_client.get("/preferences/").content.decode()
    assert "<code>=RL</code>" in html
    assert "<code>optimisation</code> = <code>optimization</code>" in html
