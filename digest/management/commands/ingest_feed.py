"""``manage.py ingest_feed FEED_ID_OR_NAME [--since DATE]``: fetch one feed now and print its run."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from digest.models import Feed
from digest.services.ingest.runs import feed_ingest, feed_is_flagged, run_summary


class Command(BaseCommand):
    help = "Fetch one feed synchronously and print the FeedRun summary."

    def add_arguments(self, parser) -> None:
        parser.add_argument("feed", help="the feed's id or name")
        parser.add_argument("--since", metavar="YYYY-MM-DD", help="re-read from this date (ignores the cursor)")

    def handle(self, *args, **options) -> None:
        ref = options["feed"]
        feed = Feed.objects.filter(pk=int(ref)).first() if ref.isdigit() else None
        feed = feed or Feed.objects.filter(name=ref).first()
        if feed is None:
            raise CommandError(f"no feed with id or name {ref!r}")
        since = None
        if options.get("since"):
            try:
                since = date.fromisoformat(options["since"])
            except ValueError:
                raise CommandError(f"--since must be a date like 2026-01-31, got {options['since']!r}") from None
        if feed.state != Feed.State.APPROVED or not feed.enabled:
            self.stderr.write(
                f"note: {feed.name} is {feed.state}{'' if feed.enabled else ', disabled'}; fetching anyway"
            )
        run = feed_ingest(feed_id=feed.pk, since=since)
        if run is None:
            raise CommandError(f"{feed.name} is being ingested by another worker right now; try again later")
        feed.refresh_from_db()
        self.stdout.write(f"{feed.name} (#{feed.pk}, {feed.kind}): {run_summary(run)}")
        for reason in run.skipped_reasons[:20]:
            self.stdout.write(f"  skipped {reason.get('entry')}: {reason.get('reason')}")
        if run.skipped > 20:
            self.stdout.write(f"  ... and {run.skipped - 20} more (see the feed's runs in the admin)")
        if feed_is_flagged(feed):
            self.stderr.write(f"warning: {feed.name} has failed {feed.consecutive_failures} times in a row")
        if run.status == run.Status.FAILED:
            raise CommandError(f"{feed.name}: fetch failed: {run.error}")
