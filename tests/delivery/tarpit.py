"""A tarpitting SMTP server: it answers normally until one command, then trickles a multi-line reply
a line at a time, each line well within the client's socket timeout, for as long as it is told."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field

from digest.mailsink import free_port


@dataclass
class Tarpit:
    slow_at: str = "RCPT"  # the command whose reply trickles: "RCPT", or "DATA" (the reply after the final dot)
    line_every: float = 0.4
    lines: int = 60
    port: int = field(default_factory=free_port)
    hung_up_early: threading.Event = field(default_factory=threading.Event)
    finished: list[str] = field(default_factory=list)  # message ids of transactions that got their last line
    _server: socket.socket | None = None

    def start(self) -> Tarpit:
        self._server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    def _serve(self) -> None:
        assert self._server is not None
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        try:
            conn.sendall(b"220 tarpit.paperboy.test ESMTP\r\n")
            while line := reader.readline():
                verb = line[:4].upper().decode("ascii", "replace")
                if verb in {"EHLO", "HELO"}:
                    conn.sendall(b"250-tarpit.paperboy.test\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n")
                elif verb == "DATA":
                    conn.sendall(b"354 go ahead\r\n")
                    while reader.readline() not in {b".\r\n", b""}:
                        pass
                    self._reply(conn, "DATA")
                elif verb == "QUIT":
                    conn.sendall(b"221 2.0.0 bye\r\n")
                    return
                elif verb in {"RSET", "NOOP"}:
                    conn.sendall(b"250 2.0.0 ok\r\n")
                else:
                    self._reply(conn, verb)
        except OSError:
            self.hung_up_early.set()
        finally:
            conn.close()

    def _reply(self, conn: socket.socket, verb: str) -> None:
        if verb != self.slow_at:
            conn.sendall(b"250 2.0.0 ok\r\n")
            return
        for n in range(self.lines):
            time.sleep(self.line_every)
            try:
                conn.sendall(f"250-2.0.0 still thinking ({n})\r\n".encode())
            except OSError:
                self.hung_up_early.set()
                raise
        conn.sendall(b"250 2.0.0 ok at last\r\n")
        self.finished.append(verb)
