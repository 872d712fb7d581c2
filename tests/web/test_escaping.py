"""HTML and JavaScript typed into any field, or arriving in a paper, is shown as text everywhere."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.utils import timezone

from digest.models import Delivery
from tests import factories
from tests.web.conftest import CsrfClient

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(2)">'


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append((tag, dict(attrs)))


def assert_inert(html: str) -> None:
    """No element the input could have created: no <img>, no inline handler, no script with our payload."""
    parser = _Elements()
    parser.feed(html)
    assert "<script>alert" not in html
    assert not [tag for tag, attrs in parser.tags if tag == "img"]
    assert not [attrs for _, attrs in parser.tags if any(name.startswith("on") for name in attrs)]


def test_html_in_a_query_is_escaped_in_the_editor_the_messages_and_the_preview(ada_client, ada_sub):
    query = f"diffusion {SCRIPT}"
    response = ada_client.post_form("/preferences/interests/", {"query": query}, follow=True)
    html = response.content.decode()
    assert ada_sub.interests.filter(query=query).exists()  # it is a valid query: its words are searched
    assert_inert(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    for path in ["/preview/?q=" + query, "/preview/?fragment=1&q=" + query]:
        assert_inert(ada_client.get(path).content.decode())


def test_html_in_a_rejected_query_is_escaped_in_the_error(ada_client):
    html = ada_client.post_form("/preferences/interests/", {"query": f'"{IMG}'}).content.decode()
    assert_inert(html)
    html = ada_client.get("/preview/", {"q": f'"{IMG}', "fragment": "1"}).content.decode()
    assert_inert(html)
    assert "&lt;img" in html


def test_html_in_muted_words_is_escaped(ada_client, ada_sub):
    data = {
        "frequency": "daily",
        "weekday": "0",
        "send_hour": "7",
        "timezone": "UTC",
        "max_papers": "10",
        "muted_words": f"{IMG}\n{SCRIPT}",
    }
    ada_client.post_form("/preferences/delivery/", data)
    ada_sub.refresh_from_db()
    assert len(ada_sub.muted_words) == 2
    assert_inert(ada_client.get("/preferences/").content.decode())


def test_html_in_an_invalid_time_zone_is_escaped(ada_client):
    data = {"frequency": "daily", "weekday": "0", "send_hour": "7", "timezone": SCRIPT, "max_papers": "10"}
    html = ada_client.post_form("/preferences/delivery/", data).content.decode()
    assert_inert(html)


def test_html_in_paper_titles_and_abstracts_is_escaped_in_the_preview_and_the_archive(ada_client, ada_sub):
    paper = factories.paper_make(
        title=f"Diffusion {SCRIPT} models",
        abstract=f"Diffusion {IMG} everywhere.\r\nInjected: header",
        authors=[f"Mallory {SCRIPT}"],
    )
    html = ada_client.get("/preview/", {"q": "diffusion", "fragment": "1"}).content.decode()
    assert_inert(html)
    assert "&lt;script&gt;" in html
    delivery = Delivery.objects.create(
        subscription=ada_sub,
        slot="2026-11-26",
        state=Delivery.State.SENT,
        sent_at=timezone.now(),
        to_email="ada@example.org",
        subject="1 new paper",
        message_id="<x@paperboy.test>",
        paper_count=1,
        content=[
            {
                "paper": paper.id,
                "score": 1.0,
                "reasons": [{"interest": "diffusion", "terms": ["diffusion"]}],
                "title_spans": [[0, 9]],
                "snippet": paper.abstract,
                "snippet_spans": [[0, 9]],
                "suggested": False,
            }
        ],
    )
    html = ada_client.get(f"/archive/{delivery.id}/").content.decode()
    assert_inert(html)
    assert "&lt;script&gt;" in html


def test_html_in_an_unsubscribed_address_is_escaped_on_the_confirm_page(anon, db):
    from digest.links import unsubscribe_url

    sub = factories.subscriber_make(email="ada@<b>example</b>.org", interests=["x"])
    html = anon.get(unsubscribe_url(subscription_id=sub.id).removeprefix("http://localhost:8000")).content.decode()
    assert "<b>" not in html
    assert "a…@&lt;b&gt;example&lt;/b&gt;.org" in html


def test_html_in_a_query_and_a_paper_is_escaped_in_the_test_digest_email(smtp_sink, django_capture_on_commit_callbacks):
    sub = factories.subscriber_make(email="ada@example.org", interests=[f"diffusion {SCRIPT}"])
    factories.paper_make(title=f"Diffusion {SCRIPT} models", abstract=f"Diffusion {IMG} alert script everywhere.")
    client = CsrfClient()
    client.force_login(sub.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post_form("/preferences/test-digest/", follow=True)
    assert "is on its way to ada@example.org" in response.content.decode()
    [message] = smtp_sink.messages()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert_inert(html)
    assert "&lt;script&gt;" in html
    assert "\n" not in message["Subject"]


def test_bidi_overrides_from_a_feed_never_reach_a_page(ada_client, tmp_path):
    """Security review L7: a title with U+202E displayed reversed in the preview."""
    import json

    from digest.services.ingest.store import papers_import_jsonl

    path = tmp_path / "papers.jsonl"
    record = {
        "title": "XSSDIFFUSION two \u202eevil\u202c title",
        "abstract": "diffusion",
        "authors": ["\u202eRTL Name"],
    }
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    papers_import_jsonl(path=path)

    html = ada_client.get("/preview/", {"q": "XSSDIFFUSION"}).content.decode()
    assert "two evil title" in html
    assert "RTL Name" in html
    assert not any(mark in html for mark in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
