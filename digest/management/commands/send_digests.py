"""Run a whole day's digest synchronously: plan, match, render, send, and print a one-line summary."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from digest.delivery.plan import deliveries_plan
from digest.delivery.send import SendResult, deliveries_send


class DryRunRollback(Exception):
    """Raised to roll back everything a dry run planned."""


class Command(BaseCommand):
    help = "Plan and send the digest for a date (default: today) synchronously, then print a summary."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--date", help="the digest date, YYYY-MM-DD (default: today, UTC)")
        parser.add_argument("--dry-run", action="store_true", help="match and count, but send and store nothing")

    def handle(self, *args, **options) -> None:
        slot = parse_date(options["date"]) if options["date"] else timezone.now().date()
        now = timezone.now()
        end_of_day = datetime.combine(slot + timedelta(days=1), time.min, tzinfo=UTC)
        sent = SendResult()
        try:
            with transaction.atomic():
                plan = deliveries_plan(now=now, slot=slot, papers_until=min(now, end_of_day))
                if options["dry_run"]:
                    raise DryRunRollback
        except DryRunRollback:
            pending = sum(len(chunk) for chunk in plan.chunks)
            self.stdout.write(
                f"{slot} (dry run): papers={plan.papers} subscribers={plan.planned} would_send={pending} "
                f"skipped={plan.skipped} failed=0"
            )
            return
        for chunk in plan.chunks:
            # Synchronous runs do not wait to retry: a failed row says why and can be retried later.
            sent.add(deliveries_send(delivery_ids=chunk, allow_retry=False))
        self.stdout.write(
            f"{slot}: papers={plan.papers} subscribers={plan.planned} sent={sent.sent} "
            f"skipped={plan.skipped + sent.skipped} failed={sent.failed}"
            + (" (sending is paused by an admin)" if sent.paused else "")
        )


def parse_date(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise CommandError(f"--date {raw!r} is not a date in YYYY-MM-DD form") from None
