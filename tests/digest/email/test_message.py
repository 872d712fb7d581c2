"""The message: headers (golden), MIME structure, what reaches a header, and what is refused."""

from __future__ import annotations

import email
import re
from dataclasses import replace
from email import policy

import pytest
import time_machine
from lxml import html as lxml_html

from digest.email import (
    digest_html_render,
    digest_message_build,
    digest_text_render,
)
from digest.email.reference import digest_html_render_uncached
from tests.digest.email.checks import SEND_TIME, golden_check, hostile_email, html_part, parsed
from tests.digest.email.email_samples import (
    LINKS,
    ada_email,
    quiet_email,
)

pytestmark = pytest.mark.usefixtures("email_settings")


@time_machine.travel(SEND_TIME, tick=False)
def test_headers_match_the_golden_file():
    """The header block exactly as it goes over SMTP (long values are folded, as RFC 5322 allows)."""
    raw = digest_message_build(ada_email()).message().as_bytes().decode()
    block = raw.split("\n\n", 1)[0] + "\n"
    golden_check("ada_digest.headers", re.sub(r'boundary="[^"]+"', 'boundary="<boundary>"', block))


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


@time_machine.travel(SEND_TIME, tick=False)
def test_quiet_day_headers_match_the_golden_file():
    raw = digest_message_build(quiet_email()).message().as_bytes().decode()
    block = raw.split("\n\n", 1)[0] + "\n"
    golden_check("ada_quiet.headers", re.sub(r'boundary="[^"]+"', 'boundary="<boundary>"', block))


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
