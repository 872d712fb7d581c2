"""Feedback links: in both parts, escaped, left out when unusable, trimmed last but one when over budget."""

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
from tests.digest.email.checks import card_actions, parsed
from tests.digest.email.email_samples import (
    action_url,
    ada_email,
    corpus_email,
)

pytestmark = pytest.mark.usefixtures("email_settings")


def test_every_card_carries_its_feedback_links_in_both_parts():
    digest = ada_email()
    doc = lxml_html.fromstring(digest_html_render(digest))
    cards = doc.xpath("//td[contains(@class, 'card-cell')]")
    assert [card_actions(card) for card in cards] == [list(item.actions) for item in digest.items]
    assert card_actions(cards[0])[2] == ('Mute "diffusion"', action_url(42, 1, "mute:diffusion"))
    style = cards[0].xpath(".//a[contains(@class, 'action')]")[0].get("style")
    assert "color:#6b7280" in style, "small grey links, not the blue of the paper's own links"
    text = digest_text_render(digest)
    for item in digest.items:
        for label, url in item.actions:
            assert f"   {label}:\n     {url}\n" in text + "\n", "label on its line, the long URL indented below"


def test_a_short_feedback_link_stays_on_one_text_line():
    item = replace(ada_email().items[0], actions=(("More like this", "https://pb.example/f/x/"),))
    assert "\n   More like this: https://pb.example/f/x/\n" in digest_text_render(ada_email(items=(item,))) + "\n"


def test_hostile_feedback_labels_are_escaped_and_non_http_links_are_left_out():
    actions = (
        ('Mute "<script>alert(1)</script>"', "https://pb.example/f/1/?a=1&b=2"),
        ("Follow \r\nBcc: x@evil.example", 'https://pb.example/f/2/" onclick="alert(2)'),
        ("Less like this", "javascript:alert(3)"),
        ("Data", "data:text/html,<script>alert(4)</script>"),
        ("Relative", "/f/5/"),
        ("", "https://pb.example/f/6/"),  # no label: nothing to click
    )
    item = replace(ada_email().items[0], actions=actions)
    digest = ada_email(items=(item,))
    html = digest_html_render(digest)
    doc = lxml_html.fromstring(html)
    assert not doc.xpath("//script | //*[@onclick]")
    assert card_actions(doc.xpath("//td[contains(@class, 'card-cell')]")[0]) == [
        ('Mute "<script>alert(1)</script>"', "https://pb.example/f/1/?a=1&b=2"),
        ("Follow Bcc: x@evil.example", "https://pb.example/f/2/%22%20onclick=%22alert(2)"),
    ]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "javascript" not in html and "data:" not in html and "/f/5/" not in html and "/f/6/" not in html
    text = digest_text_render(digest)
    assert "Less like this" not in text and "javascript" not in text and "Relative" not in text
    assert "Follow Bcc: x@evil.example: https://pb.example/f/2/%22%20onclick=%22alert(2)" in " ".join(text.split())
    assert html == digest_html_render_uncached(digest)
    msg = parsed(digest_message_build(digest))
    assert msg["Bcc"] is None


def test_25_papers_with_four_feedback_links_each_stay_under_gmails_clipping_limit(corpus_path):
    digest = corpus_email(corpus_path, count=25, suggest_last=True, with_actions=True)
    assert all(len(url) > 120 for item in digest.items for _label, url in item.actions), "signed-URL lengths"
    html = digest_html_render(digest)
    assert len(html.encode()) < HTML_BUDGET_BYTES < 102 * 1024
    doc = lxml_html.fromstring(html)
    assert len(doc.xpath("//td[contains(@class, 'card-cell')]")) == 25
    assert len(doc.xpath("//p[contains(@class, 'snippet')]")) == 25, "full snippets still fit"
    assert len(doc.xpath("//a[contains(@class, 'action')]")) == 100, "and every feedback link"


def test_over_budget_feedback_links_go_after_snippets_are_shortened_and_before_snippets_go(corpus_path, monkeypatch):
    digest = corpus_email(corpus_path, count=14, snippet_chars=1000, with_actions=True)
    shortest = email_html.html_fast(email_view.view_make(digest, snippet_limit=150))[0]
    without_links = email_html.html_fast(email_view.view_make(digest, snippet_limit=150, with_actions=False))[0]
    assert len(without_links) < len(shortest)
    monkeypatch.setattr(email_html, "HTML_BUDGET_BYTES", len(without_links.encode()))
    html = digest_html_render(digest)
    assert html == without_links
    doc = lxml_html.fromstring(html)
    assert len(doc.xpath("//p[contains(@class, 'snippet')]")) == 14
    assert not doc.xpath("//p[contains(@class, 'actions')]")
    assert html == digest_html_render_uncached(digest)
    page = lxml_html.fromstring(digest_html_render(digest, for_browser=True))
    assert len(page.xpath("//a[contains(@class, 'action')]")) == 14 * 4, "the browser page keeps them"
    assert digest_text_render(digest).count("More like this:") == 14, "the text part has no budget"
