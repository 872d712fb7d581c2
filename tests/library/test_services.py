"""Importing a library, all or nothing; likes join it; the planner sends its papers, explained."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from digest.library.parse import LibraryImportError
from digest.library.resolve import arxiv_lookup_from_settings
from digest.library.selectors import libraries_for, library_entries_of
from digest.library.services import (
    library_add_papers,
    library_import_file,
    library_import_identifiers,
    library_item_remove,
)
from digest.library.words import TERMS_FORMAT
from digest.models import Delivery, Feedback, LibraryItem, LibraryPaper, SentPaper
from tests.digest.test_pipeline import body, send_day
from tests.factories import paper_make, subscriber_make
from tests.ingest.conftest import ArxivEntry, Reply, arxiv_api_feed
from tests.library import samples

pytestmark = pytest.mark.django_db

MORNING = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def test_a_zotero_export_is_stored_once_and_shared_between_libraries():
    ada = subscriber_make(email="ada@example.org", interests=[])
    bo = subscriber_make(email="bo@example.org", interests=["attention"])
    outcome = library_import_file(subscription=ada, name="My Library.bib", data=samples.ZOTERO_BIBTEX.encode())
    assert (outcome.added, outcome.already) == (2, 0)
    library_import_file(subscription=bo, name="zotero.bib", data=samples.ZOTERO_BIBTEX.encode())
    assert LibraryPaper.objects.count() == 2
    kaplan = LibraryPaper.objects.get(key="arxiv:2001.08361")
    assert kaplan.abstract.startswith("We study") and kaplan.terms["v"] == TERMS_FORMAT
    again = library_import_file(subscription=ada, name="My Library.bib", data=samples.ZOTERO_BIBTEX.encode())
    assert (again.added, again.already) == (0, 2)
    assert [e.source for e in library_entries_of(subscription=ada)] == ["BibTeX file", "BibTeX file"]


def test_a_file_with_one_broken_entry_imports_nothing():
    ada = subscriber_make(email="ada@example.org", interests=[])
    with pytest.raises(LibraryImportError, match="line 6"):
        library_import_file(subscription=ada, name="broken.bib", data=samples.BROKEN_BIBTEX.encode())
    assert not LibraryItem.objects.exists() and not LibraryPaper.objects.exists()


def test_a_pasted_arxiv_id_of_an_ingested_paper_takes_its_title_and_abstract():
    paper = paper_make(title="Scaling Laws for Neural Language Models", abstract="Loss scales as a power law.")
    paper.arxiv_id = "2001.08361"
    paper.save()
    ada = subscriber_make(email="ada@example.org", interests=[])
    library_import_identifiers(subscription=ada, text="https://arxiv.org/abs/2001.08361v1")
    stored = LibraryPaper.objects.get()
    assert (stored.title, stored.abstract, stored.paper_id) == (paper.title, paper.abstract, paper.id)
    assert libraries_for(subscription_ids=[ada.id]).own == {ada.id: {paper.id}}


def test_an_unknown_arxiv_id_is_a_clear_error_when_arxiv_may_not_be_asked(settings):
    settings.PAPERBOY_LIBRARY_ARXIV_LOOKUP = False
    ada = subscriber_make(email="ada@example.org", interests=[])
    with pytest.raises(LibraryImportError) as err:
        library_import_identifiers(subscription=ada, text="2001.08361\n10.1145/3292500.3330701")
    message = str(err.value)
    assert "line 1: arXiv 2001.08361: Paperboy does not have this paper yet" in message
    assert "line 2: DOI 10.1145/3292500.3330701: Paperboy has no paper with this DOI" in message
    assert not LibraryItem.objects.exists()


def test_an_unknown_arxiv_id_is_looked_up_with_the_arxiv_adapter_when_allowed(settings, feed_server):
    settings.PAPERBOY_LIBRARY_ARXIV_LOOKUP = True
    settings.PAPERBOY_LIBRARY_ARXIV_URL = feed_server.serve(
        "/api/query",
        Reply(
            body=arxiv_api_feed(
                [ArxivEntry("2001.08361", "Scaling Laws for Neural Language Models", "We study scaling laws.")]
            ),
            content_type="application/atom+xml",
        ),
    )
    ada = subscriber_make(email="ada@example.org", interests=[])
    library_import_identifiers(subscription=ada, text="arXiv:2001.08361", lookup=arxiv_lookup_from_settings())
    stored = LibraryPaper.objects.get()
    assert (stored.key, stored.title, stored.abstract) == (
        "arxiv:2001.08361",
        "Scaling Laws for Neural Language Models",
        "We study scaling laws.",
    )
    (request,) = feed_server.hits("/api/query")
    assert "id_list=2001.08361" in request.path


def test_arxiv_being_down_is_named_and_nothing_is_imported(settings, feed_server):
    settings.PAPERBOY_LIBRARY_ARXIV_LOOKUP = True
    settings.PAPERBOY_LIBRARY_ARXIV_URL = feed_server.serve("/api/query", *[Reply(status=503, body=b"down")] * 3)
    ada = subscriber_make(email="ada@example.org", interests=[])
    with pytest.raises(LibraryImportError, match="arXiv could not be asked"):
        library_import_identifiers(subscription=ada, text="2001.08361", lookup=arxiv_lookup_from_settings())
    assert not LibraryPaper.objects.exists()


def test_only_papers_from_your_own_digests_can_be_added_from_the_archive():
    ada = subscriber_make(email="ada@example.org", interests=["diffusion"])
    bo = subscriber_make(email="bo@example.org", interests=["diffusion"])
    mine, theirs = paper_make(title="Mine"), paper_make(title="Theirs")
    SentPaper.objects.create(subscription=ada, paper=mine)
    SentPaper.objects.create(subscription=bo, paper=theirs)
    assert library_add_papers(subscription=ada, paper_ids=[mine.id]).added == 1
    with pytest.raises(LibraryImportError):
        library_add_papers(subscription=ada, paper_ids=[theirs.id])
    assert [i.paper.title for i in LibraryItem.objects.filter(subscription=ada)] == ["Mine"]


def test_removing_a_paper_from_someone_elses_library_is_not_possible():
    ada = subscriber_make(email="ada@example.org", interests=[])
    bo = subscriber_make(email="bo@example.org", interests=[])
    library_import_file(subscription=ada, name="a.bib", data=samples.SCHOLAR_BIBTEX.encode())
    item = LibraryItem.objects.get()
    with pytest.raises(LibraryItem.DoesNotExist):
        library_item_remove(subscription=bo, item_id=item.id)
    assert library_item_remove(subscription=ada, item_id=item.id) == "Training compute-optimal large language models"


def test_a_liked_paper_is_part_of_the_library_while_the_like_stands():
    ada = subscriber_make(email="ada@example.org", interests=["diffusion"])
    liked = paper_make(title="Diffusion policies for robots", abstract="A diffusion policy grasps objects.")
    like = Feedback.objects.create(subscription=ada, paper=liked, kind=Feedback.Kind.LIKE)
    data = libraries_for(subscription_ids=[ada.id])
    (key,) = data.keys[ada.id]
    assert data.papers[key].title == liked.title and data.own[ada.id] == {liked.id}
    like.kind = Feedback.Kind.DISLIKE
    like.save()
    assert libraries_for(subscription_ids=[ada.id]).keys == {}


@time_machine.travel(MORNING, tick=False)
def test_a_subscriber_with_a_library_and_no_interests_gets_a_digest_that_says_why(smtp_sink):
    hour_ago = MORNING - timedelta(hours=1)
    wanted = paper_make(
        title="Compute-optimal scaling laws for language models",
        abstract="We fit scaling laws of language model loss against parameters, data and compute budgets.",
        ingested_at=hour_ago,
    )
    paper_make(title="Medieval trade routes", abstract="Merchants travelled between cities.", ingested_at=hour_ago)
    ada = subscriber_make(email="ada@example.org", interests=[])
    library_import_file(subscription=ada, name="My Library.bib", data=samples.ZOTERO_BIBTEX.encode())

    send_day()

    delivery = Delivery.objects.get(subscription=ada)
    assert delivery.state == Delivery.State.SENT
    assert [entry["paper"] for entry in delivery.content] == [wanted.id]
    why = "like ‘Scaling Laws for Neural Language Models’, from your library"
    assert delivery.content[0]["reasons"][0]["interest"] == why
    (message,) = smtp_sink.messages()
    text = " ".join(body(message, "plain").split())
    assert why in text and "because you follow papers like your library on Paperboy." in text
    assert why in " ".join(html.unescape(body(message, "html")).split())


@time_machine.travel(MORNING, tick=False)
def test_a_muted_word_drops_a_paper_like_the_library_too(smtp_sink):
    hour_ago = MORNING - timedelta(hours=1)
    kept = paper_make(
        title="Compute-optimal scaling laws for language models",
        abstract="We fit scaling laws of language model loss against parameters, data and compute budgets.",
        ingested_at=hour_ago,
    )
    paper_make(
        title="Scaling laws for language model loss in medical records",
        abstract="Scaling laws of language model loss against compute budgets, on medical records.",
        ingested_at=hour_ago,
    )
    ada = subscriber_make(email="ada@example.org", interests=[], muted=["medical"])
    library_import_file(subscription=ada, name="My Library.bib", data=samples.ZOTERO_BIBTEX.encode())

    send_day()

    delivery = Delivery.objects.get(subscription=ada)
    assert [entry["paper"] for entry in delivery.content] == [kept.id]


@time_machine.travel(MORNING, tick=False)
def test_the_subject_names_the_library_once_not_every_library_paper(smtp_sink):
    hour_ago = MORNING - timedelta(hours=1)
    paper_make(
        title="Compute-optimal scaling laws for language models",
        abstract="We fit scaling laws of language model loss against parameters, data and compute budgets.",
        ingested_at=hour_ago,
    )
    paper_make(
        title="FlashAttention-3: fast attention on new GPUs",
        abstract="The attention layer is the bottleneck for long sequences; we partition the work across GPU warps.",
        ingested_at=hour_ago,
    )
    ada = subscriber_make(email="ada@example.org", interests=[])
    library_import_file(subscription=ada, name="My Library.bib", data=samples.ZOTERO_BIBTEX.encode())

    send_day()

    (message,) = smtp_sink.messages()
    assert message["Subject"] == "2 new papers on what your library is about"
