"""Wording: what each kind of email says."""

from __future__ import annotations

import pytest
import time_machine
from lxml import html as lxml_html

from digest.email import digest_html_render, digest_message_build, digest_text_render, wording
from tests.digest.email.checks import SEND_TIME, card_actions, html_part, parsed
from tests.digest.email.email_samples import LINKS, ada_email, quiet_email

pytestmark = pytest.mark.usefixtures("email_settings")


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


def one_line(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("make", [ada_email, quiet_email], ids=["digest", "quiet"])
def test_both_parts_say_the_same_sentences_from_wording(make):
    """A copy edit in wording.py changes both parts: each sentence below is in the text and in the HTML."""
    mail = make()
    quiet = mail.kind == "quiet"
    sentences = [
        wording.footer(
            quiet=quiet, recipient=mail.recipient, frequency=mail.frequency, interests=", ".join(mail.interests)
        ),
        wording.headline(count=len(mail.items), weekly=False, quiet=quiet),
        wording.quiet_intro(len(mail.items)) if quiet else wording.matched("diffusion, video generation"),
        wording.MANAGE,
        wording.UNSUBSCRIBE,
        wording.VIEW_IN_BROWSER,
        wording.ABSTRACT,
    ]

    text = one_line(digest_text_render(mail))
    page = one_line(lxml_html.fromstring(digest_html_render(mail)).text_content())

    for sentence in sentences:
        assert sentence in text and sentence in page, sentence
