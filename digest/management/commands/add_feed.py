"""``manage.py add_feed --kind KIND --name NAME [--url URL_OR_PATH] [--categories cs.LG,cs.CL]``."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from digest.models import Feed
from digest.services.ingest.feeds import FeedConfigError, feed_create


class Command(BaseCommand):
    help = "Create an approved feed (arXiv API, arXiv listing, Hugging Face Daily Papers, RSS/Atom, JSON Lines)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--kind", required=True, choices=Feed.Kind.values)
        parser.add_argument("--name", required=True)
        parser.add_argument(
            "--url", default="", help="override the source's endpoint (a mirror, a local server); a path for jsonl"
        )
        parser.add_argument("--categories", default="", help="arXiv categories, comma- or space-separated")
        parser.add_argument("--cadence", type=int, default=None, metavar="MINUTES", help="minutes between fetches")
        parser.add_argument("--params", default="", metavar="JSON", help='adapter options, e.g. {"days": 2}')

    def handle(self, *args, **options) -> None:
        params = {}
        if options["params"]:
            try:
                params = json.loads(options["params"])
            except json.JSONDecodeError as exc:
                raise CommandError(f"--params is not valid JSON: {exc}") from None
            if not isinstance(params, dict):
                raise CommandError("--params must be a JSON object")
        if options["cadence"] is not None and options["cadence"] < 1:
            raise CommandError("--cadence must be at least 1 minute")
        try:
            feed = feed_create(
                kind=options["kind"],
                name=options["name"],
                url=options["url"],
                categories=options["categories"].replace(",", " ").split(),
                params=params,
                cadence_minutes=options["cadence"],
            )
        except FeedConfigError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Created feed #{feed.pk} {feed.name!r} ({feed.kind}), every {feed.cadence_minutes} min")
