"""A local SMTP server that stores every message it receives in a Maildir (for make demo and development)."""

from __future__ import annotations

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from digest.mailsink import MaildirHandler, sink_start


class Command(BaseCommand):
    help = "Run a local SMTP sink (aiosmtpd) storing every message in a Maildir. Never relays anything."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8025)
        parser.add_argument("--maildir", default=settings.PAPERBOY_MAILDIR)

    def handle(self, *args, **options) -> None:
        handler = MaildirHandler(options["maildir"])
        controller = sink_start(handler=handler, host=options["host"], port=options["port"])
        self.stdout.write(
            f"SMTP sink listening on {options['host']}:{options['port']}, storing mail in {options['maildir']}/new/",
        )
        self.stdout.flush()
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            controller.stop()
            self.stdout.write(f"SMTP sink stopped after {handler.count} message(s)")
