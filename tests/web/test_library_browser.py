"""A subscriber imports their Zotero library in a real Chromium and watches the digest preview change."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tests import factories
from tests.library import samples
from tests.web.test_browser import DESKTOP, Pages, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.django_db(transaction=True)
def test_a_subscriber_imports_a_bibtex_file_and_the_preview_shows_papers_like_it(browser, live_server, tmp_path):
    now = timezone.now()
    wanted = factories.paper_make(
        title="Compute-Optimal Scaling Laws for Language Models",
        abstract="We fit scaling laws of language model loss against model size, data and compute budgets.",
        ingested_at=now - timedelta(hours=3),
    )
    factories.paper_make(
        title="Medieval Trade Routes Revisited",
        abstract="Merchants travelled between cities along rivers.",
        ingested_at=now - timedelta(hours=4),
    )
    # No keyword interest at all: the library alone makes her digest.
    factories.subscriber_make(email="lin@example.org", interests=[])
    library = tmp_path / "My Library.bib"
    library.write_text(samples.ZOTERO_BIBTEX, encoding="utf-8")

    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    sign_in(page, live_server, "lin@example.org")

    preview = page.locator("#preview")
    assert wanted.title not in preview.inner_text()

    # The forms fold away under a summary (so the page stays short on a phone).
    page.locator("#library summary", has_text="Add papers you know").click()
    page.get_by_label(re.compile("Upload a BibTeX or RIS export")).set_input_files(str(library))
    page.get_by_role("button", name="Import file").click()
    page.wait_for_url(re.compile(r"/preferences/#library"))

    assert page.locator("ul.messages").inner_text() == "Added 2 papers to your library from My Library.bib."
    library_list = page.locator("#library .library-list")
    assert "Scaling Laws for Neural Language Models" in library_list.inner_text()
    preview_text = preview.inner_text()
    assert wanted.title in preview_text
    assert "like ‘Scaling Laws for Neural Language Models’, from your library" in preview_text
    assert "Medieval Trade Routes" not in preview_text

    # No sideways scrolling at 375 px; with PAPERBOY_SCREENSHOTS=1 (make screenshots) the page is saved too.
    page.locator("#library").scroll_into_view_if_needed()
    Pages(page).check("library")
    context.close()
    assert problems == []
