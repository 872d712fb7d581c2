"""Pre-inlining: one premailer run per card, shared across subscribers; slots and context-free CSS."""

from __future__ import annotations

import re
from dataclasses import replace

import cssutils
import pytest

from digest.email import (
    digest_html_render,
    digest_text_render,
    email_caches_clear,
    email_cards_warm,
    inline,
)
from digest.email.reference import digest_html_render_uncached
from tests.digest.email.email_samples import (
    action_url,
    actions_for,
    ada_email,
    corpus_email,
)

pytestmark = pytest.mark.usefixtures("email_settings")


def test_a_card_is_inlined_once_and_reused_by_other_subscribers():
    email_caches_clear()
    digest_html_render(ada_email())
    misses = inline.CARDS.misses
    # Bo's feedback links are signed for Bo: they fill a slot, the inlined card is the same.
    items = tuple(replace(i, actions=actions_for(7, i.paper_key, term="video", author="Bo")) for i in ada_email().items)
    other = ada_email(
        recipient="bo@example.org", interests=("video generation",), message_id="<x@paperboy.example>", items=items
    )
    html = digest_html_render(other)
    assert inline.CARDS.misses == misses
    assert action_url(7, 1, "more") in html and action_url(42, 1, "more") not in html


def test_a_shared_card_keeps_each_subscribers_own_links_and_number():
    """One cleaned card serves every reader whose item shows the same; links and numbering stay their own."""
    shared = ada_email().items[0]
    fillers = tuple(replace(ada_email().items[1], paper_key=100 + k, actions=()) for k in range(9))
    readers = [
        ada_email(),  # the card first, with Ada's links
        ada_email(
            recipient="bo@example.org",
            items=(fillers[0], replace(shared, actions=actions_for(7, 1, term="x", author="Bo"))),
        ),
        ada_email(recipient="cy@example.org", items=(replace(shared, actions=()),)),  # no links at all
        ada_email(
            recipient="di@example.org",
            items=(*fillers, replace(shared, actions=actions_for(9, 1, term="y", author="Di"))),
        ),
    ]
    together = [(digest_text_render(r), digest_html_render(r)) for r in readers]
    for reader, (text, html) in zip(readers, together, strict=True):
        email_caches_clear()  # each alone, nothing shared
        assert (text, html) == (digest_text_render(reader), digest_html_render(reader))
        assert html == digest_html_render_uncached(reader)
    assert action_url(7, 1, "more") in together[1][1] and action_url(42, 1, "more") not in together[1][1]
    assert "\n2. Sparse Diffusion" in together[1][0] and "\n10. Sparse Diffusion" in together[3][0]
    assert "More like this" not in together[2][0] + together[2][1]


def test_warming_a_chunk_inlines_all_its_cards_in_one_premailer_run_with_the_same_result(corpus_path):
    email_caches_clear()
    chunk = [corpus_email(corpus_path, count=10, start=start) for start in (0, 5, 20)]
    assert email_cards_warm(chunk) == 25
    assert inline.CARDS.premailer_runs == 1
    for digest in chunk:
        assert digest_html_render(digest) == digest_html_render_uncached(digest)
    assert inline.CARDS.premailer_runs == 1, "rendering found every card already inlined"


def test_two_placeholders_in_one_tag_are_both_escaped_as_attributes():
    slot = inline.slot
    prepared = inline.Prepared(f'<p>{slot("a")}</p><a href="{slot("b")}" title="{slot("c")}">x</a>', "abc", html=True)
    filled = prepared.fill({"a": 'say "hi" <b>', "b": "https://e.org/?q=1&r=2", "c": '"><script>'})
    assert (
        filled == '<p>say "hi" &lt;b&gt;</p><a href="https://e.org/?q=1&amp;r=2" title="&quot;&gt;&lt;script&gt;">x</a>'
    )


def test_stylesheet_selectors_are_context_free():
    """Per-card inlining is exact only if no selector depends on an element's surroundings."""
    sheet = cssutils.parseString((inline.TEMPLATE_DIR / "digest.css").read_text(), validate=False)
    for rule in sheet.cssRules:
        if rule.type == rule.STYLE_RULE:
            for selector in rule.selectorList:
                assert re.fullmatch(r"[a-z0-9]*(\.[a-z-]+)*(:hover)?", selector.selectorText), selector.selectorText
