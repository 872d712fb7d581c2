"""Trending papers in the email (issue 19): the trending digest and a keyword digest's "Trending today"
section, in both parts, each card saying why it is there, and the fast HTML equal to the reference."""

from __future__ import annotations

import pytest
from lxml import html as lxml_html

from digest.email import digest_html_render, digest_message_build, digest_subject_render, digest_text_render
from digest.email.reference import digest_html_render_uncached
from tests.digest.email.checks import golden_check, html_part, parsed
from tests.digest.email.email_samples import ada_email, ada_with_trending_email, trending_email

pytestmark = pytest.mark.usefixtures("email_settings")


def _cards(html: str) -> list[str]:
    return [
        " ".join(td.text_content().split())
        for td in lxml_html.fromstring(html).xpath("//td[contains(@class, 'card-cell')]")
    ]


def test_the_trending_digest_says_so_in_its_subject_and_headline():
    email = trending_email()

    assert digest_subject_render(email) == "Trending today: the 3 most upvoted papers in cs.CL, cs.CV"
    assert digest_subject_render(trending_email(frequency="weekly")).startswith("Trending this week: ")
    assert digest_subject_render(trending_email(test=True)) == "Test: " + digest_subject_render(email)
    html = digest_html_render(email)
    doc = lxml_html.fromstring(html)
    assert doc.xpath("string(//h1)") == "The 3 most upvoted papers today"
    assert "Ranked by the upvotes of the Hugging Face Daily Papers community, in cs.CL, cs.CV." in " ".join(
        doc.xpath("string(//p[contains(@class, 'matched')])").split()
    )
    text = digest_text_render(email)
    assert "The 3 most upvoted papers today" in text
    assert "because you chose trending papers in cs.CL, cs.CV on Paperboy" in " ".join(text.split())


def test_each_trending_card_says_why_it_is_there_in_both_parts():
    email = trending_email()
    html, text = digest_html_render(email), digest_text_render(email)

    cards = _cards(html)
    assert "▲ 212 upvotes · #1 on Hugging Face today" in cards[0]
    assert "▲ 128 upvotes · #2 on Hugging Face today" in cards[1]
    assert all(card.count("upvotes") == 1 for card in cards), "the count is said once, in the why line"
    flat = " ".join(text.split())
    assert flat.index("▲ 212 upvotes · #1 on Hugging Face today") < flat.index(
        "▲ 128 upvotes · #2 on Hugging Face today"
    )
    assert "Matches:" not in html and "Matches:" not in text, "no interest to name"
    weekly = digest_text_render(trending_email(frequency="weekly"))
    assert "#2 on Hugging Face this week" in " ".join(weekly.split())


def test_the_trending_section_follows_the_personal_matches_in_both_parts():
    email = ada_with_trending_email()
    html, text = digest_html_render(email), digest_text_render(email)

    doc = lxml_html.fromstring(html)
    [heading] = doc.xpath("//h2[contains(@class, 'section-title')]")
    assert heading.text_content() == "Trending today"
    titles = [
        " ".join(h.text_content().split())
        for h in doc.xpath("//h2[contains(@class, 'card-title') or contains(@class, 'section-title')]")
    ]
    own = len(ada_email().items)
    assert titles.index("Trending today") == own, "after every personal match"
    assert "Trending today\n--------------\n\n5. " in text
    assert text.index("Trending today") > text.index("4. ")
    assert "#2 on Hugging Face today" in " ".join(text.split()[text.split().index("Trending") :])
    assert digest_subject_render(email) == digest_subject_render(ada_email()), "still Ada's keyword digest"


def test_no_section_heading_without_personal_matches_before_it():
    html = digest_html_render(trending_email())
    assert "section-title" not in html.split("</head>")[1]
    assert "Trending today\n---" not in digest_text_render(trending_email())


@pytest.mark.parametrize("make", [trending_email, ada_with_trending_email])
def test_the_fast_html_equals_the_reference_byte_for_byte(make):
    email = make()
    assert digest_html_render(email) == digest_html_render_uncached(email)
    assert digest_html_render(email, for_browser=True) == digest_html_render_uncached(email, for_browser=True)


def test_trending_emails_match_their_golden_files():
    golden_check("tess_trending.txt", digest_text_render(trending_email()))
    golden_check("ada_with_trending.txt", digest_text_render(ada_with_trending_email()))


def test_the_trending_message_has_both_parts_with_the_reasons():
    message = parsed(digest_message_build(trending_email()))
    assert message["Subject"] == "Trending today: the 3 most upvoted papers in cs.CL, cs.CV"
    assert "#2 on Hugging Face today" in html_part(message)
    assert "#2 on Hugging Face today" in message.get_body(("plain",)).get_content()
