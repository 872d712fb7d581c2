"""Show what an interest query would match, without sending or storing anything.

manage.py preview_query "diffusion -medical" --jsonl papers.jsonl          # papers from a file
manage.py preview_query 'title:"graph neural"' --days 3 --limit 5         # the last 3 days in the DB
manage.py preview_query "LLM agents" --jsonl papers.jsonl --format jsonl  # one JSON object per match
manage.py preview_query --trending --categories cs.CV,cs.LG --format jsonl  # today's trending papers, best first
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from digest.matching import PaperDoc, PaperIndex, Profile, QueryError, match_profile, parse_query, validate_muted


def _str_list(value) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(str(v) for v in value if isinstance(v, str | int | float) and str(v).strip())
    return ()


def docs_from_jsonl(path: Path, warn) -> tuple[list[PaperDoc], dict[int, dict]]:
    """Papers of a JSON Lines file in the ingest format; bad lines are reported and skipped."""
    docs: list[PaperDoc] = []
    extras: dict[int, dict] = {}
    try:
        handle = path.open(encoding="utf-8")
    except OSError as err:
        raise CommandError(f"Cannot read {path}: {err.strerror or err}") from err
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                warn(f"line {number}: not valid JSON ({err.msg}); skipped")
                continue
            if not isinstance(row, dict):
                warn(f"line {number}: not a JSON object; skipped")
                continue
            title, abstract = row.get("title"), row.get("abstract")
            if not isinstance(title, str) or not title.strip():
                warn(f"line {number}: missing title; skipped")
                continue
            if not isinstance(abstract, str) or not abstract.strip():
                warn(f"line {number}: missing abstract; skipped")
                continue
            popularity = row.get("popularity")
            docs.append(
                PaperDoc(
                    key=number,
                    title=title,
                    abstract=abstract,
                    authors=_str_list(row.get("authors")),
                    categories=_str_list(row.get("categories")),
                    popularity=popularity if isinstance(popularity, int) and not isinstance(popularity, bool) else None,
                )
            )
            extras[number] = {"id": row.get("id"), "url": row.get("url")}
    return docs, extras


def docs_from_db(days: int) -> tuple[list[PaperDoc], dict[int, dict]]:
    from digest.models import Paper  # imported here: the JSONL mode works without touching the DB

    since = timezone.now() - timedelta(days=days)
    rows = Paper.objects.filter(hidden=False, ingested_at__gte=since).values_list(
        "id", "title", "abstract", "authors", "categories", "popularity", "url"
    )
    docs, extras = [], {}
    for pk, title, abstract, authors, categories, popularity, url in rows.iterator():
        docs.append(PaperDoc(pk, title, abstract or "", _str_list(authors), _str_list(categories), popularity))
        extras[pk] = {"id": pk, "url": url}
    return docs, extras


class Command(BaseCommand):
    help = "Show the papers a query would match (from a JSON Lines file or the last N days), best first."

    def add_arguments(self, parser):
        parser.add_argument("query", nargs="?", default=None, help='an interest query, e.g. "diffusion -medical"')
        parser.add_argument(
            "--trending",
            action="store_true",
            help="instead of a query: the trending papers of the last --days days in the DB, by upvotes",
        )
        parser.add_argument(
            "--categories",
            default="",
            metavar="LIST",
            help="with --trending: only these arXiv categories (cs.CV,cs.LG)",
        )
        source = parser.add_mutually_exclusive_group()
        source.add_argument("--jsonl", type=Path, metavar="FILE", help="papers from a JSON Lines file (ingest format)")
        source.add_argument("--days", type=int, metavar="N", help="papers ingested in the last N days (default 1)")
        parser.add_argument("--limit", type=int, default=10, metavar="K", help="show the best K (default 10)")
        parser.add_argument("--format", choices=("text", "jsonl"), default="text")
        parser.add_argument("--muted", action="append", default=[], metavar="WORD", help="a muted word (repeatable)")

    def handle(self, *args, **options):
        if options["trending"]:
            return self._trending(options)
        if not options["query"]:
            raise CommandError('Give a query (e.g. "diffusion -medical"), or --trending for the trending papers.')
        if options["categories"]:
            raise CommandError("--categories only applies with --trending; in a query write category:cs.CV")
        try:
            parse_query(options["query"])
            muted = tuple(validate_muted(w) for w in options["muted"])
        except QueryError as err:
            raise CommandError(str(err)) from err
        if options["limit"] < 1:
            raise CommandError("--limit must be at least 1")

        if options["jsonl"] is not None:
            docs, extras = docs_from_jsonl(Path(options["jsonl"]), lambda msg: self.stderr.write(f"warning: {msg}"))
        else:
            days = options["days"] if options["days"] is not None else 1
            if days < 1:
                raise CommandError("--days must be at least 1")
            docs, extras = docs_from_db(days)

        index = PaperIndex.build(docs)
        # Every match is counted; the best --limit of them are shown.
        everything = match_profile(
            index, Profile(key=0, interests=(options["query"],), muted=muted, limit=len(docs) or 1)
        )
        matches = everything[: options["limit"]]
        titles = {d.key: d.title for d in docs}
        if options["format"] == "jsonl":
            for m in matches:
                record = {"title": titles[m.paper_key], "score": round(m.score, 4), "matches": list(m.matched_terms)}
                self.stdout.write(json.dumps(record, ensure_ascii=False))
            return
        shown = f" (the best {len(matches)} shown)" if len(matches) < len(everything) else ""
        self.stdout.write(
            f"{len(everything)} match{'es' if len(everything) != 1 else ''} among {len(docs)} "
            f"paper{'s' if len(docs) != 1 else ''}{shown} for: {options['query']}"
        )
        for rank, m in enumerate(matches, start=1):
            url = extras.get(m.paper_key, {}).get("url") or ""
            self.stdout.write(f"{rank:>3}. [{m.score:.2f}] {titles[m.paper_key]}" + (f"  <{url}>" if url else ""))
            self.stdout.write(f"     matched: {', '.join(m.described_terms)}")
            self.stdout.write(f"     {m.snippet}")

    def _trending(self, options) -> None:
        from digest.selectors.trending import trending_cards  # the DB is needed here, not for --jsonl

        if options["query"] or options["jsonl"] is not None:
            raise CommandError("--trending reads the database's papers: give neither a query nor --jsonl")
        days = options["days"] if options["days"] is not None else 1
        if days < 1:
            raise CommandError("--days must be at least 1")
        if options["limit"] < 1:
            raise CommandError("--limit must be at least 1")
        categories = [c for c in options["categories"].replace(" ", ",").split(",") if c.strip()]
        cards = trending_cards(end=timezone.now(), days=days, categories=categories, limit=options["limit"])
        if options["format"] == "jsonl":
            for card in cards:
                record = {
                    "title": card.title,
                    "score": card.upvotes,
                    "upvotes": card.upvotes,
                    "comments": card.comments,
                    "rank": card.rank,
                    "categories": list(card.categories),
                    "url": card.url or card.hf_url,
                }
                self.stdout.write(json.dumps(record, ensure_ascii=False))
            return
        where = f" in {', '.join(categories)}" if categories else ""
        self.stdout.write(f"{len(cards)} trending paper(s){where} of the last {days} day(s), by upvotes:")
        for place, card in enumerate(cards, start=1):
            self.stdout.write(f"{place:>3}. [▲ {card.upvotes}, #{card.rank} on Hugging Face] {card.title}")
