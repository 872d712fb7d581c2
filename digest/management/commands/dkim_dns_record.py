"""Print the DNS TXT record that publishes the configured DKIM key (docs/DELIVERY.md, "Before the first send")."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from digest.email.dkim import dkim_signer_for


class Command(BaseCommand):
    help = "Print the TXT record to publish for PAPERBOY_DKIM_PRIVATE_KEY_FILE (name and value, zone-file form)."

    def handle(self, *args, **options) -> None:
        if not settings.PAPERBOY_DKIM_DOMAIN:
            raise CommandError(
                "DKIM signing is off: set PAPERBOY_DKIM_DOMAIN, PAPERBOY_DKIM_SELECTOR and "
                "PAPERBOY_DKIM_PRIVATE_KEY_FILE first"
            )
        signer = dkim_signer_for(
            domain=settings.PAPERBOY_DKIM_DOMAIN,
            selector=settings.PAPERBOY_DKIM_SELECTOR,
            key_file=settings.PAPERBOY_DKIM_PRIVATE_KEY_FILE,
        )
        name, value = signer.dns_record()
        # Zone files and most DNS consoles take a long TXT value as several quoted strings of <= 255 bytes.
        pieces = " ".join(f'"{value[i : i + 250]}"' for i in range(0, len(value), 250))
        self.stdout.write(f"{name}. IN TXT ( {pieces} )")
