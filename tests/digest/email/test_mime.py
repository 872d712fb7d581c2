"""MIME bytes written directly: they must parse back to exactly what went in, and never carry a header break."""

from __future__ import annotations

import smtplib
from email import message_from_bytes, policy

import pytest

from digest.email.mime import HeaderError, address_encode, alternative_bytes, body_encode, header_encode, header_line
from digest.mailsink import MemoryHandler, sink_start

TEXT = "Guten Morgen, Zoë —\n\n1. Diffusion für Videos\n.a line that starts with a dot\n"
HTML = "<html><body><p>Zoë’s <mark>diffusion</mark> digest</p>\n<p>.dot</p></body></html>\n"
HEADERS = [
    ("From", "Paperboy <digest@paperboy.example>"),
    ("To", "zoe@example.org"),
    ("Subject", header_encode("3 new papers on “diffusion” — für Zoë")),
    ("Message-ID", "<abc.digest@paperboy.example>"),
]


def parse(data: bytes):
    """As a mail client reads it: CRLF on the wire, local line endings after."""
    return message_from_bytes(data.replace(b"\r\n", b"\n"), policy=policy.default)


@pytest.mark.parametrize("allow_8bit", [True, False])
def test_a_two_part_message_parses_back_to_exactly_its_text_and_html(allow_8bit):
    msg = parse(alternative_bytes(headers=HEADERS, text=TEXT, html=HTML, allow_8bit=allow_8bit))
    assert msg.get_content_type() == "multipart/alternative"
    text, html = msg.iter_parts()
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert text.get_content() == TEXT
    assert html.get_content() == HTML
    assert str(msg["Subject"]) == "3 new papers on “diffusion” — für Zoë"
    assert msg["Message-ID"] == "<abc.digest@paperboy.example>"


def test_utf8_parts_go_8bit_only_when_allowed_and_ascii_parts_go_7bit():
    assert body_encode("plain ascii\n", allow_8bit=True).transfer_encoding == "7bit"
    assert body_encode("Zoë\n", allow_8bit=True).transfer_encoding == "8bit"
    assert body_encode("Zoë\n", allow_8bit=False).transfer_encoding == "quoted-printable"
    data = alternative_bytes(headers=HEADERS, text=TEXT, html=HTML, allow_8bit=False)
    assert data.isascii(), "a server without 8BITMIME gets 7-bit data only"


def test_a_line_over_998_bytes_switches_that_part_to_quoted_printable():
    long_html = "<p>" + "wörd " * 400 + "</p>\n"
    body = body_encode(long_html, allow_8bit=True)
    assert body.transfer_encoding == "quoted-printable"
    assert max(len(line) for line in body.data.split(b"\r\n")) <= 76
    msg = parse(alternative_bytes(headers=HEADERS, text=TEXT, html=long_html))
    assert msg.get_body(preferencelist=("html",)).get_content() == long_html


def test_every_line_ends_in_crlf_and_none_is_longer_than_998_bytes():
    data = alternative_bytes(headers=HEADERS, text=TEXT.replace("\n", "\r\n"), html=HTML + "x" * 3000)
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert max(len(line) for line in data.split(b"\r\n")) <= 998


@pytest.mark.parametrize("value", ["a\r\nBcc: victim@example.org", "a\nb", "a\rb"])
def test_a_header_value_with_a_line_break_is_refused(value):
    with pytest.raises(HeaderError):
        header_line("Subject", value)
    with pytest.raises(HeaderError):
        alternative_bytes(headers=[("Subject", value)], text="x", html=None)


def test_a_long_header_is_folded_at_spaces_and_unfolds_to_the_same_value():
    value = " ".join(f"word{n}" for n in range(40))
    line = header_line("X-Topics", value)
    assert all(len(part) <= 78 for part in line.split(b"\r\n"))
    assert parse(line + b"\r\nbody")["X-Topics"] == value


def test_an_address_with_a_non_ascii_display_name_is_encoded_and_a_non_ascii_address_refused():
    encoded = address_encode("Zoë Example <zoe@example.org>")
    assert encoded.isascii()
    assert parse(f"From: {encoded}\r\n\r\n".encode())["From"].addresses[0].display_name == "Zoë Example"
    with pytest.raises(HeaderError):
        address_encode("zoë@exämple.org")


def test_the_bytes_cross_a_real_smtp_server_with_body_8bitmime_and_dots_intact():
    handler = MemoryHandler()
    controller = sink_start(handler=handler)
    try:
        with smtplib.SMTP(controller.hostname, controller.port, timeout=5) as smtp:
            smtp.ehlo()
            assert smtp.has_extn("8bitmime")
            data = alternative_bytes(headers=HEADERS, text=TEXT, html=HTML)
            smtp.sendmail("bounce@paperboy.example", ["zoe@example.org"], data, mail_options=["BODY=8BITMIME"])
    finally:
        controller.stop()
    (received,) = handler.received
    assert "BODY=8BITMIME" in received.mail_options
    msg = parse(received.data)
    assert msg.get_body(preferencelist=("plain",)).get_content() == TEXT
    assert msg.get_body(preferencelist=("html",)).get_content() == HTML


def test_a_full_digest_with_feedback_links_goes_8bit_not_quoted_printable(corpus_path, settings):
    """Eight signed links on one line once pushed the HTML over 998 bytes a line: a third larger."""
    from digest.email import digest_message_build
    from tests.digest.email.email_samples import corpus_email

    settings.DEFAULT_FROM_EMAIL = "Paperboy <digest@paperboy.example>"
    digest = corpus_email(corpus_path, count=25, with_actions=True)
    data = digest_message_build(digest).mime_bytes(allow_8bit=True)

    assert data.count(b"Content-Transfer-Encoding: 8bit") == 2
    assert b"quoted-printable" not in data
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
