"""The private Atom feed: valid Atom, secret, and revoked by regenerating."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

import feedparser
import pytest
from defusedxml import ElementTree as SafeET

from digest.feedback.atom import ATOM_NS, AtomEntry, AtomFeed, atom_render
from digest.feedback.selectors import feed_url_make
from digest.feedback.services import feed_token_ensure, feed_url_for
from tests import factories

pytestmark = pytest.mark.django_db
A = f"{{{ATOM_NS}}}"


def feed_path(subscription) -> str:
    return urlsplit(feed_url_for(subscription=subscription)).path


def assert_valid_atom(body: bytes) -> feedparser.FeedParserDict:
    """RFC 4287's required elements, checked on the XML itself and through a real feed parser."""
    root = SafeET.fromstring(body)
    assert root.tag == f"{A}feed"
    for required in ("id", "title", "updated", "author"):
        assert root.find(f"{A}{required}") is not None, required
    assert root.find(f"{A}link[@rel='self']") is not None
    for entry in root.findall(f"{A}entry"):
        for required in ("id", "title", "updated"):
            assert entry.find(f"{A}{required}") is not None, required
        assert entry.find(f"{A}link[@rel='alternate']") is not None
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return parsed


def test_the_feed_lists_the_papers_of_sent_digests_as_valid_atom(anon, ada_digest):
    response = anon.get(feed_path(ada_digest.subscription))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    assert "private" in response["Cache-Control"]
    parsed = assert_valid_atom(response.content)
    (entry,) = parsed.entries
    assert entry.title == "Video diffusion models at scale"
    assert entry.link == ada_digest.paper.url
    assert [a.name for a in entry.authors] == ["Jan Müller", "Ada Lovelace"]
    assert entry.summary.startswith("[diffusion] We train diffusion models")


def test_an_empty_feed_is_still_valid_atom(anon, db):
    sub = factories.bo()
    parsed = assert_valid_atom(anon.get(feed_path(sub)).content)
    assert parsed.entries == []


def test_hostile_text_from_a_feed_is_escaped_and_control_characters_dropped():
    body = atom_render(
        AtomFeed(
            id="tag:example.org,2026:feed/1",
            title="Mine",
            self_url="https://example.org/feed/x/",
            site_url="https://example.org/",
            updated=datetime(2026, 1, 1, tzinfo=UTC),
            author="Paperboy",
            entries=[
                AtomEntry(
                    id="tag:example.org,2026:p/1",
                    title="<b>bold</b> & \x0bvertical tab\x00",
                    link="https://example.org/p?a=1&b=2",
                    updated=datetime(2026, 1, 1, tzinfo=UTC),
                    summary="</summary><script>x</script>",
                )
            ],
        )
    )
    parsed = assert_valid_atom(body)
    assert parsed.entries[0].title == "<b>bold</b> & vertical tab"
    assert parsed.entries[0].link == "https://example.org/p?a=1&b=2"
    assert b"<script>" not in body


def test_regenerating_revokes_the_old_feed_url(anon, ada_digest):
    old = feed_path(ada_digest.subscription)
    assert anon.get(old).status_code == 200
    anon.force_login(ada_digest.subscription.user)
    response = anon.post_form("/preferences/feed/regenerate/")
    assert response.status_code == 302
    ada_digest.subscription.refresh_from_db()
    new = feed_path(ada_digest.subscription)
    assert new != old
    assert anon.get(old).status_code == 404
    assert anon.get(new).status_code == 200


def test_regenerating_needs_a_post_from_the_signed_in_subscriber(anon, ada_digest):
    old = feed_path(ada_digest.subscription)
    assert anon.get("/preferences/feed/regenerate/").status_code in {302, 405}
    assert anon.post_form("/preferences/feed/regenerate/").status_code == 302  # to the login page
    assert anon.get(old).status_code == 200


def test_a_forged_or_other_subscribers_feed_url_is_not_found(anon, ada_digest, bo_digest):
    bo_secret = feed_token_ensure(subscription=bo_digest.subscription)
    # Bo's secret under Ada's id: the signature is valid, the secret is not Ada's.
    mixed = urlsplit(feed_url_make(subscription_id=ada_digest.subscription.id, secret=bo_secret)).path
    assert anon.get(mixed).status_code == 404
    good = feed_path(ada_digest.subscription)
    assert anon.get(good[:-5] + "x" + good[-4:]).status_code == 404
