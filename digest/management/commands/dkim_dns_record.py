"""Print the DNS TXT record(s) that publish the configured DKIM key(s) (docs/DELIVERY.md, "Before the first send")."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from digest.email.dkim import dkim_signers_configured


class Command(BaseCommand):
    help = (
        "Print the TXT record to publish for each key of PAPERBOY_DKIM_PRIVATE_KEY_FILE (name and value, "
        "zone-file form; one line per selector when signing with several keys)."
    )

    def handle(self, *args, **options) -> None:
        signers = dkim_signers_configured()
        if not signers:
            raise CommandError(
                "DKIM signing is off: set PAPERBOY_DKIM_DOMAIN, PAPERBOY_DKIM_SELECTOR and "
                "PAPERBOY_DKIM_PRIVATE_KEY_FILE first"
            )
        for signer in signers:
            name, value = signer.dns_record()
            # Zone files and most DNS consoles take a long TXT value as several quoted strings of <= 255 bytes.
            pieces = " ".join(f'"{value[i : i + 250]}"' for i in range(0, len(value), 250))
            self.stdout.write(f"{name}. IN TXT ( {pieces} )")
