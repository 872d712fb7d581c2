"""The polite fetcher against a real HTTP server on loopback (no mocked client)."""

from __future__ import annotations

import gzip

import pytest

from digest.ingest.http import HttpClient, retry_after_seconds
from digest.ingest.records import FetchError, Validators
from tests.ingest.conftest import Reply


class SleepLog:
    """Records the waits the client asks for instead of waiting (the server is real, the clock is not)."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> SleepLog:
    return SleepLog()


@pytest.fixture
def client(fast_http, sleeps) -> HttpClient:
    return HttpClient.from_settings(sleep=sleeps)


def test_every_request_names_the_service_and_its_contact(feed_server, client):
    url = feed_server.serve("/feed", Reply(body=b"<feed/>"))
    client.get(url)
    agent = feed_server.hits("/feed")[0].headers["User-Agent"]
    assert "Paperboy" in agent
    assert "mailto:ops@paperboy.test" in agent


def test_conditional_headers_are_sent_and_a_304_comes_back_as_not_modified(feed_server, client):
    url = feed_server.serve("/feed", Reply(status=304, headers={"ETag": '"v1"'}))
    response = client.get(url, validators=Validators(etag='"v1"', last_modified="Tue, 24 Nov 2026 10:00:00 GMT"))
    seen = feed_server.hits("/feed")[0].headers
    assert response.not_modified
    assert seen["If-None-Match"] == '"v1"'
    assert seen["If-Modified-Since"] == "Tue, 24 Nov 2026 10:00:00 GMT"


def test_a_429_is_retried_after_the_time_the_server_asks_for(feed_server, client, sleeps):
    url = feed_server.serve(
        "/feed", Reply(status=429, headers={"Retry-After": "1"}, body=b"slow down"), Reply(body=b"<feed/>")
    )
    response = client.get(url)
    assert response.status == 200
    assert response.body == b"<feed/>"
    assert sleeps.calls == [1.0]
    assert len(feed_server.hits("/feed")) == 2


def test_a_retry_after_longer_than_we_may_wait_fails_at_once_and_says_when(feed_server, client, sleeps):
    url = feed_server.serve("/feed", Reply(status=503, headers={"Retry-After": "3600"}))
    with pytest.raises(FetchError) as caught:
        client.get(url)
    assert caught.value.retry_after == 3600
    assert caught.value.http_status == 503
    assert "retry after 3600s" in str(caught.value)
    assert len(feed_server.hits("/feed")) == 1


def test_a_500_then_success_is_retried_with_backoff(feed_server, client, sleeps):
    url = feed_server.serve("/feed", Reply(status=500, body=b"oops"), Reply(body=b"<feed/>"))
    response = client.get(url)
    assert response.body == b"<feed/>"
    assert response.attempts == 2
    assert len(sleeps.calls) == 1


def test_persistent_server_errors_give_up_after_the_retries_with_the_status(feed_server, client):
    url = feed_server.serve("/feed", Reply(status=502, body=b"bad gateway"))
    with pytest.raises(FetchError) as caught:
        client.get(url)
    assert caught.value.http_status == 502
    assert "gave up after 3 attempts" in str(caught.value)
    assert len(feed_server.hits("/feed")) == 3


def test_a_404_is_not_retried(feed_server, client):
    with pytest.raises(FetchError) as caught:
        client.get(feed_server.url("/missing"))
    assert caught.value.http_status == 404
    assert len(feed_server.hits("/missing")) == 1


def test_a_connection_that_stalls_past_the_timeout_fails(feed_server, fast_http, sleeps):
    client = HttpClient.from_settings(sleep=sleeps, timeout=0.2, retries=1)
    url = feed_server.serve("/feed", Reply(stall=30, body=b"<feed/>"))
    with pytest.raises(FetchError, match=r"timed out after 0\.2s"):
        client.get(url)
    assert len(feed_server.hits("/feed")) == 2


def test_a_response_larger_than_the_cap_is_refused_from_its_content_length(feed_server, client):
    url = feed_server.serve("/big", Reply(stream_bytes=50 * 1024 * 1024))
    with pytest.raises(FetchError, match="response too large: 52428800 bytes announced"):
        client.get(url)


def test_a_response_larger_than_the_cap_is_cut_off_while_streaming(feed_server, client):
    url = feed_server.serve("/big", Reply(stream_bytes=50 * 1024 * 1024, announce_length=False))
    with pytest.raises(FetchError, match="response too large: more than 524288 bytes"):
        client.get(url)


def test_a_gzip_bomb_is_cut_off_at_the_cap_after_decompression(feed_server, client):
    bomb = gzip.compress(b"\0" * (8 * 1024 * 1024))
    url = feed_server.serve("/bomb", Reply(body=bomb, headers={"Content-Encoding": "gzip"}))
    with pytest.raises(FetchError, match="response too large"):
        client.get(url)


def test_gzip_responses_are_decompressed(feed_server, client):
    url = feed_server.serve("/feed", Reply(body=gzip.compress(b"<feed/>"), headers={"Content-Encoding": "gzip"}))
    assert client.get(url).body == b"<feed/>"


def test_a_redirect_to_a_non_http_scheme_is_refused(feed_server, client):
    url = feed_server.serve("/moved", Reply(status=302, headers={"Location": "file:///etc/passwd"}))
    with pytest.raises(FetchError):
        client.get(url)


def test_only_http_urls_are_fetched(client):
    with pytest.raises(FetchError, match="not an http"):
        client.get("file:///etc/passwd")


def test_retry_after_can_be_an_http_date():
    from datetime import UTC, datetime

    now = datetime(2026, 11, 24, 10, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("Tue, 24 Nov 2026 10:02:00 GMT", now=now) == 120.0
    assert retry_after_seconds("soon") is None


def test_requests_to_one_host_are_spaced_by_the_politeness_interval(feed_server, fast_http, sleeps):
    from digest.ingest.http import HostThrottle

    client = HttpClient.from_settings(sleep=sleeps, throttle=HostThrottle())
    url = feed_server.serve("/feed", Reply(body=b"<feed/>"))
    client.get(url, min_interval=0.5)
    client.get(url, min_interval=0.5)
    assert len(sleeps.calls) == 1
    assert 0.4 < sleeps.calls[0] <= 0.5


def test_the_shared_throttle_spaces_requests_of_different_processes_through_the_cache(fast_http):
    from django.core.cache import cache

    from digest.ingest.http import HostThrottle

    cache.delete("paperboy:ingest:throttle:arxiv.test")
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:  # the other process's slot expires
            cache.delete("paperboy:ingest:throttle:arxiv.test")

    HostThrottle().wait("arxiv.test", 1.0, sleep=sleep)  # one process takes the slot
    assert waits == []
    HostThrottle().wait("arxiv.test", 1.0, sleep=sleep)  # another process must wait for it
    assert waits == [0.5, 0.5, 0.5]
    cache.delete("paperboy:ingest:throttle:arxiv.test")


# --- One deadline per request (security review M3) ------------------------------------------------


class TrickleServer:
    """A raw socket server that sends its response one byte every ``interval`` seconds: each byte
    comes well within the per-operation timeout, so only an overall deadline can stop the read."""

    HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nConnection: close\r\n\r\n"

    def __init__(self, *, phase: str, interval: float = 0.02, total: int = 600) -> None:
        import socket
        import threading

        self.phase, self.interval, self.total = phase, interval, total
        self.sent = 0
        self.finished = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}/feed"

    def _serve(self) -> None:
        import time

        conn, _ = self.listener.accept()
        with conn:
            conn.recv(65536)
            if self.phase == "body":
                conn.sendall(self.HEAD)
                payload = b"<rss>" + b" " * self.total
            else:  # a status line, then one header that never ends
                payload = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * self.total
            try:
                for byte in payload[: self.total]:
                    conn.sendall(bytes([byte]))
                    self.sent += 1
                    time.sleep(self.interval)
            except OSError:
                return  # the client hung up: what the deadline should make it do
            self.finished.set()

    def close(self) -> None:
        self.listener.close()


@pytest.mark.parametrize("phase", ["headers", "body"])
def test_a_server_trickling_one_byte_at_a_time_is_cut_off_at_the_deadline(fast_http, phase):
    fast_http.PAPERBOY_HTTP_TIMEOUT = 0.25  # each byte (every 0.02 s) is well inside this; the deadline is 6 times it
    server = TrickleServer(phase=phase)  # 600 bytes: 12 s of trickle
    client = HttpClient.from_settings(retries=0)
    try:
        with pytest.raises(FetchError, match=r"still arriving after 1.5s"):
            client.get(server.url)
        server.thread.join(timeout=10)
    finally:
        server.close()
    assert not server.finished.is_set()
    assert server.sent < 600


def test_the_deadline_covers_every_redirect_hop_together(feed_server, fast_http):
    fast_http.PAPERBOY_HTTP_TIMEOUT = 0.25
    server = TrickleServer(phase="body")
    feed_server.serve("/hop", Reply(status=302, headers={"Location": server.url}))
    try:
        with pytest.raises(FetchError, match="still arriving"):
            HttpClient.from_settings(retries=0).get(feed_server.url("/hop"))
    finally:
        server.close()
    assert not server.finished.is_set()
