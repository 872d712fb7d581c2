"""Display cleaning: unsafe URLs are never linked, highlight spans survive cleaning."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import html as lxml_html

from digest.email import (
    clean,
    digest_html_render,
    digest_text_render,
)
from digest.email.reference import digest_html_render_uncached
from tests.digest.email.email_samples import (
    ada_email,
)

pytestmark = pytest.mark.usefixtures("email_settings")


def test_a_paper_whose_only_url_is_javascript_is_shown_but_never_linked():
    item = replace(ada_email().items[0], url="javascript:alert(1)", pdf_url="", hf_url="data:text/html,x", actions=())
    bad = ada_email(items=(item,))
    html = digest_html_render(bad)
    doc = lxml_html.fromstring(html)
    assert doc.xpath("//h2[contains(@class, 'card-title')]")[0].text_content().startswith("Sparse Diffusion")
    assert not doc.xpath("//td[contains(@class, 'card-cell')]//a")
    assert "javascript" not in html and "data:" not in html
    assert html == digest_html_render_uncached(bad)
    assert "javascript" not in digest_text_render(bad)


def test_sloppy_spans_are_clipped_merged_and_never_break_the_html():
    item = replace(
        ada_email().items[0], snippet="deep diffusion models", snippet_spans=((5, 14), (10, 21), (40, 50), (3, 3))
    )
    html = digest_html_render(ada_email(items=(item,)))
    snippet = lxml_html.fromstring(html).xpath("//p[contains(@class, 'snippet')]")[0]
    assert [m.text for m in snippet.xpath("mark")] == ["diffusion models"]


def test_highlights_stay_on_their_words_when_whitespace_and_control_characters_are_cleaned():
    snippet = "Deep\n\n   generative \x00\tdiffusion\u202e models"
    start = snippet.index("diffusion")
    item = replace(ada_email().items[0], snippet=snippet, snippet_spans=((start, start + 9),))
    html = digest_html_render(ada_email(items=(item,)))
    p = lxml_html.fromstring(html).xpath("//p[contains(@class, 'snippet')]")[0]
    assert p.text_content().strip() == "Deep generative diffusion models"
    assert [m.text for m in p.xpath("mark")] == ["diffusion"]


@given(st.text(alphabet=st.sampled_from([*"ab  c", "\n", "\t", "\x00", "\xa0", "\u2028", "\x85", "\x9f"]), max_size=30))
def test_run_based_cleaning_agrees_with_the_per_character_cleaner(text):
    fast, newpos = clean.clean_mapped(text)
    slow, slow_pos = clean._clean_per_char(text)
    assert fast == slow == clean.display_text(text)
    assert [newpos(p) for p in range(len(text) + 1)] == slow_pos
