"""The polite HTTP fetcher every adapter uses (stdlib urllib; no network access is hidden anywhere else).

Polite: a User-Agent naming the service and its contact address, conditional requests
(If-None-Match / If-Modified-Since), at most one request per ``min_interval`` seconds per host
(arXiv asks for 3 s), ``Retry-After`` honoured on 429/503, exponential backoff on transient errors.
Defensive: a timeout on every socket operation plus one wall-clock deadline per request (connect,
headers, body, redirects; ``digest/ingest/connections.py``), a cap on the body size (also after gzip
decompression), redirects only to http(s), and only to public addresses unless the operator allows
more (``digest/ingest/netguard.py``). An error message never quotes the response body: an internal
page reached by mistake must not end up in the admin.
"""

from __future__ import annotations

import email.utils
import http.client
import logging
import math
import random
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.message import Message
from typing import Any

from django.conf import settings
from django.core.cache import cache

from digest.ingest.connections import Deadline, DeadlinePassed, opener_build
from digest.ingest.netguard import AddressRefused, FetchAllow
from digest.ingest.records import FetchError, Validators

logger = logging.getLogger(__name__)

RETRY_STATUSES = {429, 500, 502, 503, 504}
_CHUNK = 64 * 1024


@dataclass
class HttpResponse:
    status: int
    url: str
    headers: Message
    body: bytes = b""
    attempts: int = 1

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str:
        return (self.headers.get_content_type() or "").lower()

    @property
    def charset(self) -> str:
        return self.headers.get_content_charset() or ""

    @property
    def validators(self) -> Validators:
        return Validators(
            etag=self.headers.get("ETag", "") or "", last_modified=self.headers.get("Last-Modified", "") or ""
        )


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects only to http(s) URLs (never file:, ftp:, ...)."""

    max_redirections = 5

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urllib.parse.urlparse(newurl).scheme.lower() not in {"http", "https"}:
            raise urllib.error.HTTPError(newurl, code, f"refusing redirect to {newurl!r}", headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class _Transient(Exception):
    """A failure worth retrying (timeout, reset connection, 5xx, 429)."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` is either delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class HostThrottle:
    """At most one request per ``interval`` seconds per host.

    In-process bookkeeping always; across worker processes too (through the cache, i.e. Redis in
    production) when the interval is a second or more, which is the case that matters (arXiv's 3 s).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next_at: dict[str, float] = {}

    def wait(self, host: str, interval: float, *, sleep: Callable[[float], None]) -> None:
        if interval <= 0:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_at.get(host, 0.0))
            self._next_at[host] = start + interval
        if start > now:
            sleep(start - now)
        if interval >= 1:
            self._wait_shared(host, interval, sleep=sleep)

    @staticmethod
    def _wait_shared(host: str, interval: float, *, sleep: Callable[[float], None]) -> None:
        key = f"paperboy:ingest:throttle:{host}"
        deadline = time.monotonic() + max(30.0, interval * 10)
        # cache.add is atomic: whoever adds the key owns the next slot; it expires after the interval.
        while True:
            try:
                if cache.add(key, "1", timeout=math.ceil(interval)):
                    return
            except Exception as exc:  # Redis down: the in-process spacing above still holds.
                logger.warning("shared throttle unavailable (%s); spacing requests in this process only", exc)
                return
            if time.monotonic() > deadline:
                logger.warning("throttle for %s still busy after waiting; going ahead", host)
                return
            sleep(min(0.5, interval))


THROTTLE = HostThrottle()


@dataclass
class HttpClient:
    user_agent: str
    timeout: float = 20.0
    max_bytes: int = 20 * 1024 * 1024
    retries: int = 3
    backoff: float = 2.0
    max_retry_after: float = 120.0
    sleep: Callable[[float], None] = time.sleep
    # Minimum seconds between two requests to the same host, by host name.
    min_interval: dict[str, float] = field(default_factory=dict)
    throttle: HostThrottle = field(default_factory=lambda: THROTTLE)
    # Hosts and ranges the operator allows besides public addresses (PAPERBOY_FETCH_ALLOW).
    allow: FetchAllow = field(default_factory=FetchAllow)

    @classmethod
    def from_settings(cls, **overrides: Any) -> HttpClient:
        client = cls(
            user_agent=settings.PAPERBOY_HTTP_USER_AGENT,
            timeout=settings.PAPERBOY_HTTP_TIMEOUT,
            max_bytes=settings.PAPERBOY_HTTP_MAX_BYTES,
            retries=settings.PAPERBOY_HTTP_RETRIES,
            backoff=settings.PAPERBOY_HTTP_BACKOFF_SECONDS,
            max_retry_after=settings.PAPERBOY_HTTP_MAX_RETRY_AFTER,
            allow=FetchAllow.from_settings(),
        )
        return replace(client, **overrides) if overrides else client

    def get(
        self,
        url: str,
        *,
        params: dict | None = None,
        validators: Validators | None = None,
        accept: str = "*/*",
        min_interval: float | None = None,
    ) -> HttpResponse:
        """GET ``url``; returns a 2xx or 304 response, or raises ``FetchError`` with a clear message."""
        if params:
            url = f"{url}{'&' if '?' in url else '?'}{urllib.parse.urlencode(params)}"
        parsed = urllib.parse.urlparse(url)
        if parsed.scheme.lower() not in {"http", "https"} or not parsed.hostname:
            raise FetchError(f"not an http(s) URL: {url!r}")
        host = parsed.hostname.lower()
        interval = self.min_interval.get(host, 0.0) if min_interval is None else min_interval
        headers = {
            "User-Agent": self.user_agent,
            "Accept": accept,
            "Accept-Encoding": "gzip",
        }
        if validators and validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators and validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified

        last: _Transient | None = None
        for attempt in range(1, self.retries + 2):
            self.throttle.wait(host, interval, sleep=self.sleep)
            try:
                response = self._get_once(url, headers)
                response.attempts = attempt
                return response
            except _Transient as exc:
                last = exc
                if attempt > self.retries:
                    break
                delay = self._delay(exc, attempt)
                logger.info("GET %s: %s; retry %d in %.2fs", url, exc, attempt, delay)
                self.sleep(delay)
        assert last is not None
        raise FetchError(
            f"{last} (gave up after {self.retries + 1} attempts)", http_status=last.status, retry_after=last.retry_after
        )

    def _delay(self, exc: _Transient, attempt: int) -> float:
        if exc.retry_after is not None:
            if exc.retry_after > self.max_retry_after:
                # Waiting that long inside a worker would block it; the feed is retried later instead.
                raise FetchError(
                    f"HTTP {exc.status}: server asks to retry after {exc.retry_after:.0f}s",
                    http_status=exc.status,
                    retry_after=exc.retry_after,
                )
            return exc.retry_after
        return self.backoff * (2 ** (attempt - 1)) * (1 + random.random() * 0.25)

    @property
    def deadline_seconds(self) -> float:
        """The wall-clock limit of one request, redirects included."""
        return self.timeout * 6

    def _get_once(self, url: str, headers: dict[str, str]) -> HttpResponse:
        # The scheme was checked in get(): only http(s) reaches here.
        request = urllib.request.Request(url, headers=headers, method="GET")  # noqa: S310
        deadline = Deadline(self.deadline_seconds)
        opener = opener_build(_HttpOnlyRedirects, allow=self.allow, deadline=deadline)
        try:
            with opener.open(request, timeout=self.timeout) as raw:
                status = raw.status
                body = self._read_capped(raw, deadline)
                return HttpResponse(status=status, url=raw.geturl(), headers=raw.headers, body=body)
        except urllib.error.HTTPError as exc:
            if deadline.expired:
                raise self._too_slow() from None
            status = exc.code
            if status == 304:
                return HttpResponse(status=304, url=url, headers=exc.headers)
            retry_after = retry_after_seconds(exc.headers.get("Retry-After")) if exc.headers else None
            # The status only: the body of an error page is never quoted (it may be an internal page).
            message = f"HTTP {status}{_status_phrase(status)}"
            if status in RETRY_STATUSES:
                raise _Transient(
                    message, status=status, retry_after=retry_after if status in {429, 503} else None
                ) from None
            raise FetchError(message, http_status=status) from None
        except FetchError:
            raise
        except AddressRefused as exc:
            raise FetchError(str(exc)) from None
        except Exception as exc:
            passed = isinstance(exc, DeadlinePassed) or isinstance(getattr(exc, "reason", None), DeadlinePassed)
            if deadline.expired or passed:
                raise self._too_slow() from None
            raise self._failure(exc) from None
        finally:
            deadline.close()

    def _too_slow(self) -> _Transient:
        return _Transient(f"response still arriving after {self.deadline_seconds:g}s (the limit for one request)")

    def _failure(self, exc: Exception) -> Exception:
        """A transport failure as the run reports it: transient (retried) or final."""
        if isinstance(exc, TimeoutError):
            return _Transient(f"timed out after {self.timeout:g}s ({exc or 'no response'})")
        if isinstance(exc, urllib.error.URLError):
            reason = exc.reason
            if isinstance(reason, AddressRefused):
                return FetchError(str(reason))
            if isinstance(reason, TimeoutError | socket.timeout):
                return _Transient(f"timed out after {self.timeout:g}s")
            if isinstance(reason, ConnectionError | OSError):
                return _Transient(f"connection failed: {reason}")
            return FetchError(f"request failed: {reason}")
        if isinstance(exc, http.client.HTTPException | ConnectionError):
            return _Transient(f"connection broke: {exc.__class__.__name__}: {exc}")
        if isinstance(exc, OSError):
            return _Transient(f"connection failed: {exc}")
        raise exc

    def _read_capped(self, raw, deadline: Deadline) -> bytes:
        length = raw.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > self.max_bytes:
            raise FetchError(f"response too large: {int(length)} bytes announced, the limit is {self.max_bytes}")
        gzipped = (raw.headers.get("Content-Encoding") or "").lower() in {"gzip", "x-gzip"}
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzipped else None
        parts: list[bytes] = []
        size = 0
        while True:
            # read1: what has arrived (one recv at most), so the loop sees the deadline between reads;
            # a read blocked in recv is woken by the deadline's timer.
            chunk = raw.read1(_CHUNK) if hasattr(raw, "read1") else raw.read(_CHUNK)
            if deadline.expired:
                raise self._too_slow()
            if not chunk:
                break
            if inflater is not None:
                # max_length keeps a gzip bomb from inflating past the cap in one call.
                chunk = inflater.decompress(chunk, self.max_bytes + 1 - size)
            size += len(chunk)
            if size > self.max_bytes:
                raise FetchError(f"response too large: more than {self.max_bytes} bytes")
            parts.append(chunk)
        if inflater is not None:
            tail = inflater.flush()
            size += len(tail)
            if size > self.max_bytes:
                raise FetchError(f"response too large: more than {self.max_bytes} bytes")
            parts.append(tail)
        return b"".join(parts)


def _status_phrase(status: int) -> str:
    """`` Not Found`` for 404: the standard phrase, never the server's own words."""
    try:
        return f" {http.HTTPStatus(status).phrase}"
    except ValueError:
        return ""
