"""``manage.py ingest_papers --jsonl PATH``: import papers from a JSON Lines file.

Re-running adds nothing twice. Bad lines are reported with their line number and skipped; the good
lines still land. Exit status 0 unless the file cannot be read (or ``--strict`` and a line was bad).
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from digest.ingest.records import FetchError
from digest.models import Feed
from digest.services.ingest.store import papers_import_jsonl


class Command(BaseCommand):
    help = "Import papers from a JSON Lines file (title and abstract required per line)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--jsonl", required=True, metavar="PATH", help="the .jsonl file to import")
        parser.add_argument("--feed", metavar="NAME", help="attribute the new papers to this existing feed")
        parser.add_argument("--strict", action="store_true", help="exit with status 1 if any line was skipped")

    def handle(self, *args, **options) -> None:
        path = Path(options["jsonl"])
        feed = None
        if options.get("feed"):
            feed = Feed.objects.filter(name=options["feed"]).first()
            if feed is None:
                raise CommandError(f"no feed named {options['feed']!r}")
        try:
            summary = papers_import_jsonl(path=path, feed=feed)
        except FetchError as exc:
            raise CommandError(str(exc)) from None
        stored = summary.stored
        for skip in summary.skipped:
            self.stderr.write(f"{path}: {skip.entry}: skipped: {skip.reason}")
        self.stdout.write(
            f"{path}: read {summary.read}, new {stored.new}, updated {stored.updated}, "
            f"unchanged {stored.unchanged}, skipped {len(summary.skipped)}"
        )
        if options["strict"] and summary.skipped:
            raise CommandError(f"{len(summary.skipped)} line(s) skipped")
