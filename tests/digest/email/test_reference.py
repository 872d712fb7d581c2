"""The fast HTML path equals the reference renderer (premailer on the whole email), byte for byte."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from digest.email import (
    digest_html_render,
    email_caches_clear,
    inline,
)
from digest.email import html as email_html
from digest.email import view as email_view
from digest.email.reference import digest_html_render_uncached
from tests.digest.email.email_samples import (
    ada_email,
    corpus_email,
    item_make,
    quiet_email,
)

pytestmark = pytest.mark.usefixtures("email_settings")


def test_cached_inlining_equals_premailer_on_the_whole_email(corpus_path):
    email_caches_clear()
    for digest in (
        ada_email(),
        ada_email(items=()),  # no cards at all: the cards loop leaves no blank line behind either
        corpus_email(corpus_path, count=10, suggest_last=True),
        corpus_email(corpus_path, count=10, start=5),
    ):
        assert digest_html_render(digest) == digest_html_render_uncached(digest)
        assert digest_html_render(digest, for_browser=True) == digest_html_render_uncached(digest, for_browser=True)
    # Ada's 4 cards, the first corpus digest's 10, and of the second's 10 only its 5 new papers and paper 9
    # (no longer "suggested"): its papers 5-8 reuse the cards inlined for the first.
    assert inline.CARDS.misses == 4 + 10 + 6, "the second corpus digest reuses cards from the first"


HOSTILE_TEXT = st.text(
    alphabet=st.sampled_from(
        [
            *"ab <>&\"'`=/\\;:{}#%?",
            "\r",
            "\n",
            "\t",
            "\x00",
            "\x0b",
            "\xa0",
            "é",
            "—",
            "\u202e",
            "😀",
            "\u2028",
            "\ufeff",
            "…",
        ]
    ),
    max_size=40,
)


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    title=HOSTILE_TEXT,
    snippet=HOSTILE_TEXT,
    author=HOSTILE_TEXT,
    interest=HOSTILE_TEXT,
    recipient_local=st.from_regex(r"[a-z0-9.'+]{1,12}", fullmatch=True),
    spans=st.lists(st.tuples(st.integers(-3, 45), st.integers(-3, 45)), max_size=4),
    url_tail=HOSTILE_TEXT,
    action_label=HOSTILE_TEXT,
    near_miss=HOSTILE_TEXT,
    kind=st.sampled_from(["digest", "quiet"]),
)
def test_any_text_renders_the_same_as_premailer_on_the_whole_email(
    title, snippet, author, interest, recipient_local, spans, url_tail, action_label, near_miss, kind
):
    item = item_make(1, title, snippet, terms=(), interests=(interest,), authors=(author, "B"), hf=True)
    item = replace(
        item,
        title_spans=tuple(spans),
        snippet_spans=tuple(spans),
        url=f"https://arxiv.org/abs/{url_tail}",
        popularity=len(title),
        actions=((action_label, f"https://pb.example/f/{url_tail}"), ("Less like this", f"http://pb.example/{title}")),
        near_miss=near_miss,
    )
    digest = ada_email(items=(item,), recipient=f"{recipient_local}@example.org", interests=(interest, "x"), kind=kind)
    assert digest_html_render(digest) == digest_html_render_uncached(digest)
    html, size = email_html.html_fast(email_view.view_make(digest))
    assert size == len(html.encode()), "the size budget is checked on a size summed from the pieces"


def test_feedback_links_render_the_same_as_premailer_on_the_whole_email(corpus_path):
    email_caches_clear()
    for digest in (ada_email(), corpus_email(corpus_path, count=10, start=3, with_actions=True, suggest_last=True)):
        assert digest_html_render(digest) == digest_html_render_uncached(digest)
        assert digest_html_render(digest, for_browser=True) == digest_html_render_uncached(digest, for_browser=True)


def test_quiet_day_note_renders_the_same_as_premailer_on_the_whole_email(monkeypatch):
    note = quiet_email()
    assert digest_html_render(note) == digest_html_render_uncached(note)
    empty = quiet_email(items=())
    assert "Nothing came close either." in digest_html_render(empty)
    assert digest_html_render(empty) == digest_html_render_uncached(empty)
    bare = email_html.html_fast(email_view.view_make(note, snippet_limit=0, with_actions=False))[0]
    monkeypatch.setattr(email_html, "HTML_BUDGET_BYTES", len(bare.encode()) - 1)  # a paper has to go
    trimmed = digest_html_render(note)
    assert "more near miss" in trimmed and trimmed == digest_html_render_uncached(note)
    monkeypatch.undo()
    page = digest_html_render(note, for_browser=True)
    assert page == digest_html_render_uncached(note, for_browser=True)
    assert "Nothing new matched your interests today" in page
