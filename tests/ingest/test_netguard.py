"""The fetcher never reaches the machine itself or its network (security review M1).

Real servers on loopback play both the "internal" service and, reached through a host name the test
allows, the "public" feed; nothing is mocked: the check runs on the address the socket connects to.
"""

from __future__ import annotations

import ipaddress

import pytest

from digest.ingest.http import HttpClient
from digest.ingest.netguard import FetchAllow, address_refusal
from digest.ingest.records import FetchError
from digest.models import Feed
from digest.services.ingest.runs import feed_ingest
from tests.ingest.conftest import FeedServer, Reply, feed_make

REFUSED = [
    "127.0.0.1",
    "127.8.9.10",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.0.8",
    "198.18.0.1",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "2002:7f00:1::1",
    "64:ff9b::a9fe:a9fe",
    "::127.0.0.1",
    "2001:db8::1",
]


@pytest.mark.parametrize("address", REFUSED)
def test_internal_and_special_addresses_are_refused(address):
    assert address_refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["151.101.1.140", "128.84.21.199", "2606:4700::6810:85e5", "2a00:1450:4001::1"])
def test_public_addresses_are_fetched(address):
    assert address_refusal(ipaddress.ip_address(address)) is None


def test_the_allow_list_takes_host_names_and_ranges():
    allow = FetchAllow.parse(["Mirror.Lab.Internal.", "10.1.2.0/24", "[::1]"])
    assert allow.allows_host("mirror.lab.internal")
    assert not allow.allows_host("lab.internal")
    assert allow.allows_address(ipaddress.ip_address("10.1.2.77"))
    assert allow.allows_address(ipaddress.ip_address("::1"))
    assert not allow.allows_address(ipaddress.ip_address("10.1.3.1"))


@pytest.fixture
def guarded(settings, fast_http):
    """The fetcher as production runs it: nothing allowed but public addresses."""
    settings.PAPERBOY_FETCH_ALLOW = []
    return settings


@pytest.fixture
def internal_server():
    server = FeedServer()
    server.serve(
        "/internal/admin",
        Reply(status=500, body=b"INTERNAL-ONLY secret_token=s3cr3t-internal-value", content_type="text/plain"),
    )
    server.serve("/feed.xml", Reply(body=b"<rss version='2.0'><channel><title>t</title></channel></rss>"))
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.mark.parametrize(
    "spelling",
    ["127.0.0.1", "localhost", "2130706433", "0x7f000001", "127.1", "0177.0.0.1", "[::ffff:127.0.0.1]"],
)
def test_loopback_in_any_spelling_is_refused_before_a_request_is_sent(guarded, internal_server, spelling):
    port = internal_server.httpd.server_address[1]
    client = HttpClient.from_settings()
    with pytest.raises(FetchError) as caught:
        client.get(f"http://{spelling}:{port}/feed.xml")
    assert "refusing to fetch" in str(caught.value)
    assert internal_server.requests == []


def test_a_loopback_server_is_fetched_when_the_operator_allows_it(guarded, internal_server):
    guarded.PAPERBOY_FETCH_ALLOW = ["127.0.0.0/8"]
    response = HttpClient.from_settings().get(internal_server.url("/feed.xml"))
    assert response.status == 200


def test_a_redirect_from_an_allowed_host_to_an_internal_one_is_refused(guarded, internal_server, feed_server):
    # "localhost" stands for the public feed the moderator approved; the redirect target is internal.
    guarded.PAPERBOY_FETCH_ALLOW = ["localhost"]
    feed_server.serve("/redirect", Reply(status=302, headers={"Location": internal_server.url("/internal/admin")}))
    public_port = feed_server.httpd.server_address[1]
    with pytest.raises(FetchError) as caught:
        HttpClient.from_settings(retries=0).get(f"http://localhost:{public_port}/redirect")
    assert "refusing to fetch from 127.0.0.1" in str(caught.value)
    assert len(feed_server.hits("/redirect")) == 1
    assert internal_server.requests == []


def test_a_name_that_resolves_to_loopback_is_refused_whatever_the_allowed_names(guarded, internal_server):
    # DNS rebinding: the name is checked by the address it resolves to when the socket connects.
    guarded.PAPERBOY_FETCH_ALLOW = ["feeds.example.org"]
    port = internal_server.httpd.server_address[1]
    with pytest.raises(FetchError, match="loopback"):
        HttpClient.from_settings(retries=0).get(f"http://localhost:{port}/feed.xml")
    assert internal_server.requests == []


@pytest.mark.django_db
def test_an_approved_feed_redirecting_inside_fails_without_leaking_the_internal_page(
    guarded, internal_server, feed_server
):
    guarded.PAPERBOY_FETCH_ALLOW = ["localhost"]
    feed_server.serve("/redirect", Reply(status=302, headers={"Location": internal_server.url("/internal/admin")}))
    port = feed_server.httpd.server_address[1]
    feed = feed_make(kind="rss", url=f"http://localhost:{port}/redirect")

    run = feed_ingest(feed_id=feed.pk)

    feed.refresh_from_db()
    assert run.status == "failed"
    assert "refusing to fetch" in run.error
    assert internal_server.requests == []
    assert feed.state == Feed.State.APPROVED


@pytest.mark.django_db
def test_an_error_page_body_never_reaches_the_run_error(fast_http, feed_server):
    feed_server.serve(
        "/feed",
        Reply(status=403, body=b"secret_token=s3cr3t-internal-value", content_type="text/plain"),
    )
    feed_server.serve(
        "/login",
        Reply(body=b"<!doctype html><html><title>Log in | secret admin</title></html>", content_type="text/html"),
    )
    error_page = feed_make(kind="rss", url=feed_server.url("/feed"))
    html_page = feed_make(kind="rss", url=feed_server.url("/login"))

    first = feed_ingest(feed_id=error_page.pk)
    second = feed_ingest(feed_id=html_page.pk)

    assert first.error == "HTTP 403 Forbidden"
    assert "s3cr3t" not in first.error
    assert "got an HTML page" in second.error
    assert "secret admin" not in second.error
