"""The library on the preferences page: import a BibTeX file, see the preview change; bad files say why."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from digest.models import LibraryItem, SentPaper
from tests import factories
from tests.library import samples

pytestmark = pytest.mark.django_db

LIKE_KAPLAN = "like ‘Scaling Laws for Neural Language Models’, from your library"


@pytest.fixture
def scaling_paper(db):
    return factories.paper_make(
        title="Compute-Optimal Scaling Laws for Language Models",
        abstract="We fit scaling laws of language model loss against model size, data and compute budgets.",
        ingested_at=timezone.now() - timedelta(hours=5),
    )


def page_text(response) -> str:
    """What a person reads: tags out, entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def test_uploading_a_zotero_export_fills_the_library_and_the_preview_shows_papers_like_it(ada_client, scaling_paper):
    before = page_text(ada_client.get("/preferences/"))
    assert scaling_paper.title not in before

    upload = SimpleUploadedFile("My Library.bib", samples.ZOTERO_BIBTEX.encode(), content_type="text/x-bibtex")
    response = ada_client.post_form("/preferences/library/upload/", {"file": upload}, follow=True)

    text = page_text(response)
    assert "Added 2 papers to your library from My Library.bib." in text
    assert "Scaling Laws for Neural Language Models · BibTeX file" in text
    assert scaling_paper.title in text and LIKE_KAPLAN in text


def test_a_broken_file_names_the_line_and_adds_nothing(ada_client):
    upload = SimpleUploadedFile("broken.bib", samples.BROKEN_BIBTEX.encode())
    response = ada_client.post_form("/preferences/library/upload/", {"file": upload}, follow=True)
    assert "Nothing was added from broken.bib: line 6: this entry is not valid BibTeX" in page_text(response)
    assert not LibraryItem.objects.exists()


def test_pasting_ids_of_unknown_papers_says_what_to_do(ada_client, settings):
    settings.PAPERBOY_LIBRARY_ARXIV_LOOKUP = False
    response = ada_client.post_form("/preferences/library/paste/", {"identifiers": "2001.08361"}, follow=True)
    text = page_text(response)
    assert "Nothing was added from what you pasted: line 1: arXiv 2001.08361" in text
    assert "add it from a BibTeX or RIS export" in text


def test_library_forms_need_csrf_and_a_login(ada_client, anon):
    for path in ("/preferences/library/paste/", "/preferences/library/upload/", "/preferences/library/add/"):
        assert ada_client.post(path, {"identifiers": "2001.08361"}).status_code == 403
        assert anon.post_form(path, {"identifiers": "2001.08361"}).status_code == 302  # to the login page


def test_nobody_removes_a_paper_from_someone_elses_library(ada_client, bo_client):
    bo_client.post_form(
        "/preferences/library/upload/", {"file": SimpleUploadedFile("b.bib", samples.SCHOLAR_BIBTEX.encode())}
    )
    item = LibraryItem.objects.get()
    assert ada_client.post_form(f"/preferences/library/{item.id}/remove/").status_code == 404
    response = bo_client.post_form(f"/preferences/library/{item.id}/remove/", follow=True)
    assert "Removed “Training compute-optimal large language models” from your library." in page_text(response)
    assert not LibraryItem.objects.exists()


def test_a_feed_cannot_inject_markup_through_a_library_title(ada_client):
    evil = "@article{x, title={<script>alert(1)</script> Attention}, year={2020}}"
    ada_client.post_form("/preferences/library/upload/", {"file": SimpleUploadedFile("x.bib", evil.encode())})
    body = ada_client.get("/preferences/").content.decode()
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt; Attention" in body


def test_papers_from_past_digests_can_be_ticked_into_the_library(ada_client, ada_sub):
    sent = factories.paper_make(title="A Paper Ada Was Sent", abstract="About diffusion.")
    SentPaper.objects.create(subscription=ada_sub, paper=sent)
    assert "A Paper Ada Was Sent" in page_text(ada_client.get("/preferences/"))
    response = ada_client.post_form("/preferences/library/add/", {"paper": [str(sent.id)]}, follow=True)
    assert "Added 1 paper to your library." in page_text(response)
    assert LibraryItem.objects.get(subscription=ada_sub).paper.paper_id == sent.id
