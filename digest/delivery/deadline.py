"""A wall-clock deadline for each SMTP transaction.

``EMAIL_TIMEOUT`` bounds each socket operation, not a transaction: a relay (or a tarpit) that trickles
a multi-line reply a line at a time resets the socket timeout with every line and can hold one message
for as long as it likes. The sweeper takes a row still ``sending`` after ``PAPERBOY_SENDING_TIMEOUT``
for a dead worker's and sends it again, so a transaction that outlives that timeout is a duplicate
waiting to happen. :class:`Deadline` makes "outlives" impossible: when a transaction passes its
deadline (``PAPERBOY_SMTP_DEADLINE_SECONDS``, shorter than the sending timeout), a watchdog thread
shuts the socket down, which ends whatever read or write the sending thread is blocked in.

One watchdog thread per SMTP connection lane, started on first use and gone after a few idle seconds;
arming and disarming it is two lock round trips per message.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

IDLE_EXIT_SECONDS = 5.0
RETRY_SECONDS = 0.05  # when the deadline passes while no socket exists yet (connecting)


class Deadline:
    def __init__(self, *, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._cond = threading.Condition()
        self._until: float | None = None
        self._target: Callable[[], socket.socket | None] | None = None
        self._thread: threading.Thread | None = None

    @contextmanager
    def watch(self, target: Callable[[], socket.socket | None]) -> Iterator[Deadline]:
        """Run the block under the deadline; ``target`` gives the socket to cut (it may appear later,
        when the block connects). ``expired`` says afterwards whether the watchdog cut it."""
        with self._cond:
            self._until = time.monotonic() + self.seconds
            self._target = target
            self.expired = False
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="smtp-deadline", daemon=True)
                self._thread.start()
            self._cond.notify()
        try:
            yield self
        finally:
            with self._cond:
                self._until = None
                self._target = None

    def _run(self) -> None:
        with self._cond:
            idle_since = time.monotonic()
            while True:
                now = time.monotonic()
                if self._until is None:
                    if now - idle_since > IDLE_EXIT_SECONDS:
                        self._thread = None
                        return
                    self._cond.wait(IDLE_EXIT_SECONDS)
                    continue
                idle_since = now
                if now < self._until:
                    self._cond.wait(self._until - now)
                    continue
                self.expired = True
                if not self._cut():
                    self._cond.wait(RETRY_SECONDS)

    def _cut(self) -> bool:
        sock = self._target() if self._target is not None else None
        if sock is None:
            return False
        with contextlib.suppress(OSError):  # already closed: nothing left to cut
            sock.shutdown(socket.SHUT_RDWR)
        self._until = None
        return True
