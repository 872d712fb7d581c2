"""urllib handlers whose connections check the peer address and obey one wall-clock deadline.

``Deadline`` bounds a whole request (connect, status line and headers, body, every redirect hop):
a timeout per socket operation alone lets a server that sends one byte a second keep a worker busy
for as long as it likes. When the deadline passes, a timer shuts down every socket the request
opened, so a read blocked in ``recv`` returns at once, whatever phase it is in.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import socket
import ssl
import threading
import time
import urllib.request

from digest.ingest.netguard import FetchAllow, connection_create


class DeadlinePassed(TimeoutError):
    """The request's overall deadline passed (raised instead of whatever the cut socket reported)."""


class Deadline:
    """One request's wall-clock limit; ``watch`` each socket, ``close`` when the request is over."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expires_at = time.monotonic() + seconds
        self.expired = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        left = self.expires_at - time.monotonic()
        if left <= 0 or self.expired:
            raise DeadlinePassed(f"no complete response within {self.seconds:g}s")
        return left

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            if self.expired:
                _cut(sock)
            else:
                self._sockets.append(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _cut(sock)

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            self._sockets = []


def _cut(sock: socket.socket) -> None:
    # The plain socket's shutdown (also for an SSLSocket): it wakes a recv blocked in another thread.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _connect_guarded(self, *, allow: FetchAllow, deadline: Deadline) -> None:
    timeout = self.timeout if isinstance(self.timeout, int | float) else None
    limit = deadline.remaining()
    self._create_connection = functools.partial(connection_create, allow=allow)
    self.timeout = min(timeout, limit) if timeout is not None else limit
    try:
        self._base_connect()
    finally:
        self.timeout = timeout
    if self.sock is not None:
        self.sock.settimeout(timeout)
        deadline.watch(self.sock)


class GuardedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args, allow: FetchAllow, deadline: Deadline, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._guard = (allow, deadline)

    def _base_connect(self) -> None:
        super().connect()

    def connect(self) -> None:
        allow, deadline = self._guard
        _connect_guarded(self, allow=allow, deadline=deadline)


class GuardedHTTPSConnection(GuardedHTTPConnection, http.client.HTTPSConnection):
    """The same guard; ``_base_connect``'s ``super().connect()`` reaches HTTPSConnection's, which adds TLS."""


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One verifying context per process: loading the system's CA store takes ~0.1 s."""
    return ssl.create_default_context()


class GuardedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, *, allow: FetchAllow, deadline: Deadline) -> None:
        super().__init__()
        self._allow, self._deadline = allow, deadline

    def http_open(self, req):
        return self.do_open(functools.partial(GuardedHTTPConnection, allow=self._allow, deadline=self._deadline), req)


class GuardedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, *, allow: FetchAllow, deadline: Deadline) -> None:
        super().__init__()
        self._allow, self._deadline = allow, deadline

    def https_open(self, req):
        return self.do_open(
            functools.partial(GuardedHTTPSConnection, allow=self._allow, deadline=self._deadline),
            req,
            context=_ssl_context(),  # made on the first https request only
        )


def opener_build(*handlers, allow: FetchAllow, deadline: Deadline) -> urllib.request.OpenerDirector:
    """An opener with no proxy from the environment (the check must see the real peer) and guarded
    http(s) connections; ``handlers`` add to it (the redirect policy)."""
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        GuardedHTTPHandler(allow=allow, deadline=deadline),
        GuardedHTTPSHandler(allow=allow, deadline=deadline),
        *handlers,
    )
