"""Read delivery status notifications from a Maildir: record each bounce, suppress bad addresses."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from digest.delivery.bounces import bounces_process_maildir


class Command(BaseCommand):
    help = (
        "Process bounces (RFC 3464 delivery status notifications) from a Maildir: a hard bounce suppresses "
        "the address at once, soft bounces after PAPERBOY_SOFT_BOUNCE_LIMIT. Processed mail moves to cur/."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--maildir", required=True, help="path of the Maildir the bounce address delivers to")
        parser.add_argument("--dry-run", action="store_true", help="parse and count, change nothing")

    def handle(self, *args, **options) -> None:
        path = Path(options["maildir"])
        try:
            run = bounces_process_maildir(path=path, dry_run=options["dry_run"])
        except FileNotFoundError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"bounces: read={run.read} hard={run.hard} soft={run.soft} duplicates={run.duplicates} "
            f"ignored={run.ignored} suppressed={run.suppressed} errors={run.errors}"
            + (" (dry run)" if options["dry_run"] else "")
        )
