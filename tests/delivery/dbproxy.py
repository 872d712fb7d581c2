"""A TCP proxy in front of PostgreSQL that the test can "restart": every connection through it is cut
and new ones are refused for a while, then it listens again on the same port -- what a database
restart looks like from a worker, without touching the PostgreSQL server other tests share."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

from digest.mailsink import free_port


class DatabaseProxy:
    def __init__(self, *, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = free_port()
        self.lock = threading.Lock()
        self.connections: list[socket.socket] = []
        self.listener: socket.socket | None = None
        self.restarts = 0

    def start(self) -> DatabaseProxy:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def stop(self) -> None:
        self._cut()

    def restart(self, *, down_seconds: float) -> None:
        """Cut every connection, refuse new ones for ``down_seconds``, then accept again."""
        self._cut()
        self.restarts += 1
        time.sleep(down_seconds)
        self.start()

    def cut_now_and_return_after(self, *, down_seconds: float) -> None:
        """Cut at once (before the caller's next step), come back in the background."""
        self._cut()
        self.restarts += 1

        def come_back() -> None:
            time.sleep(down_seconds)
            self.start()

        threading.Thread(target=come_back, daemon=True).start()

    def _cut(self) -> None:
        with self.lock:
            listener, self.listener = self.listener, None
            connections, self.connections = self.connections, []
        if listener is not None:
            listener.close()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self.lock:
                self.connections += [client, server]
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
