"""The HTML part: inlined styles, what a card shows, the browser page, and Gmail's size budget."""

from __future__ import annotations

from dataclasses import replace

import pytest
from lxml import html as lxml_html

from digest.email import (
    HTML_BUDGET_BYTES,
    digest_html_render,
    digest_message_build,
    digest_text_render,
)
from digest.email import html as email_html
from digest.email import view as email_view
from digest.email.reference import digest_html_render_uncached
from tests.digest.email.checks import html_part, parsed
from tests.digest.email.email_samples import (
    LINKS,
    action_url,
    ada_email,
    corpus_email,
    quiet_email,
)

pytestmark = pytest.mark.usefixtures("email_settings")


def test_html_styles_are_inlined_and_media_queries_kept_in_head():
    doc = lxml_html.fromstring(html_part(parsed(digest_message_build(ada_email()))))
    head_css = "".join(doc.xpath("//head/style/text()"))
    assert "@media (prefers-color-scheme: dark)" in head_css
    assert "@media (max-width: 480px)" in head_css
    assert ".hl {" not in head_css.split("@media")[0], "plain rules are inlined, not repeated in <style>"
    cards = doc.xpath("//td[contains(@class, 'card-cell')]")
    assert len(cards) == 4
    assert all("padding:20px 0" in td.get("style") for td in cards)
    marks = doc.xpath("//mark")
    assert marks and all("background-color:#fef08a" in m.get("style") for m in marks)
    assert {m.text_content().lower() for m in marks} >= {"diffusion", "video generation"}
    assert doc.xpath("//meta[@name='color-scheme']/@content") == ["light dark"]


def test_html_shows_everything_the_issue_asks_for():
    html = digest_html_render(ada_email())
    doc = lxml_html.fromstring(html)
    text = doc.text_content()
    preheader = doc.xpath("//body/div[contains(@style, 'display:none')]")[0].text_content()
    assert preheader.startswith("Sparse Diffusion Transformers for Minute-Long Video Generation · Consistency")
    assert "Friday, 27 November 2026" in text and "4 new papers for you" in text
    assert "Matched your interests: diffusion, video generation" in text
    assert "Ada Lovelace, Grace Hopper, Katherine Johnson et al." in text  # first three, then et al.
    assert "Alan Turing" not in text
    assert "cs.CV · cs.LG · ▲ 128 upvotes" in text
    titles = doc.xpath("//a[contains(@class, 'title-link')]")
    assert titles[0].get("href") == "https://arxiv.org/abs/2611.00001"
    links = [(a.text_content(), a.get("href")) for a in doc.xpath("//p[contains(@class, 'links')]/a")]
    assert ("Hugging Face", "https://huggingface.co/papers/2611.00001") in links
    assert ("PDF", "https://arxiv.org/pdf/2611.00001") in links
    footer = {a.text_content(): a.get("href") for a in doc.xpath("//a[contains(@class, 'footer-link')]")}
    assert footer == {
        "Manage preferences": LINKS.manage_url,
        "View in browser": LINKS.view_url,
        "Unsubscribe": LINKS.unsubscribe_url,
    }
    assert "because you follow diffusion, video generation, protein design" in text
    assert "1 Example Street" in text


def test_view_in_browser_page_uses_the_same_templates_without_email_only_parts():
    page = digest_html_render(ada_email(), for_browser=True)
    doc = lxml_html.fromstring(page)
    assert doc.xpath("//title/text()") == ["Paperboy · Friday, 27 November 2026"]
    assert not doc.xpath("//body/div[contains(@style, 'display:none')]"), "no preheader on the web page"
    assert "View in browser" not in page
    assert len(doc.xpath("//td[contains(@class, 'card-cell')]")) == 4
    assert page == digest_html_render_uncached(ada_email(), for_browser=True)


def test_a_25_paper_digest_stays_under_gmails_clipping_limit(corpus_path):
    digest = corpus_email(corpus_path, count=25, suggest_last=True)
    html = digest_html_render(digest)
    size = len(html.encode())
    assert size < HTML_BUDGET_BYTES < 102 * 1024
    doc = lxml_html.fromstring(html)
    assert len(doc.xpath("//td[contains(@class, 'card-cell')]")) == 25
    assert len(doc.xpath("//p[contains(@class, 'snippet')]")) == 25, "25 papers fit with their snippets"
    raw = digest_message_build(digest).message().as_bytes()
    assert len(raw) < 102 * 1024 + len(digest_text_render(digest).encode()) + 2048


def test_an_oversized_digest_trims_snippets_then_links_the_rest_in_the_browser(corpus_path, monkeypatch):
    monkeypatch.setattr(email_html, "HTML_BUDGET_BYTES", 30_000)  # a small budget keeps the test quick
    digest = corpus_email(corpus_path, count=30, snippet_chars=1000)
    html = digest_html_render(digest)
    assert len(html.encode()) <= 30_000
    doc = lxml_html.fromstring(html)
    shown = len(doc.xpath("//td[contains(@class, 'card-cell')]"))
    assert 0 < shown < 30
    assert not doc.xpath("//p[contains(@class, 'snippet')]"), "snippets go before papers do"
    more = doc.xpath("//td[contains(@class, 'more')]/a")[0]
    assert more.get("href") == LINKS.view_url
    assert more.text_content() == f"…and {30 - shown} more papers: open the full digest in your browser"
    assert html == digest_html_render_uncached(digest)
    page = lxml_html.fromstring(digest_html_render(digest, for_browser=True))
    assert len(page.xpath("//td[contains(@class, 'card-cell')]")) == 30, "the browser page has them all"


def test_a_slightly_long_digest_only_shortens_its_snippets(corpus_path, monkeypatch):
    digest = corpus_email(corpus_path, count=14, snippet_chars=1000)
    shortened = email_html.html_fast(email_view.view_make(digest, snippet_limit=240))[0]
    monkeypatch.setattr(email_html, "HTML_BUDGET_BYTES", len(shortened.encode()))
    html = digest_html_render(digest)
    assert html == shortened
    doc = lxml_html.fromstring(html)
    snippets = doc.xpath("//p[contains(@class, 'snippet')]")
    assert len(snippets) == 14
    assert max(len(p.text_content().strip()) for p in snippets) <= 241
    assert not doc.xpath("//td[contains(@class, 'more')]")


def test_the_fast_path_sums_the_exact_utf8_size_of_what_it_assembles(corpus_path):
    """The size budget is checked without encoding the HTML, so the summed size must be the real one."""
    wide = replace(
        ada_email().items[0],
        title="Ünïcödé — “quotes” 😀 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
        actions=(("Mute “😀”", action_url(1, 1, "mute")), ("Follow Émile Borel", action_url(1, 1, "f"))),
        near_miss="Almost — 😀",
    )
    for digest in (
        ada_email(),
        ada_email(items=()),
        ada_email(items=(wide, *ada_email().items), interests=("é", "😀")),
        quiet_email(),
        corpus_email(corpus_path, count=25, with_actions=True, suggest_last=True),
    ):
        for options in ({}, {"for_browser": True}, {"snippet_limit": 0, "max_cards": 2, "with_actions": False}):
            html, size = email_html.html_fast(email_view.view_make(digest, **options))
            assert size == len(html.encode())
