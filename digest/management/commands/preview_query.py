"""Show what an interest query would match, without sending or storing anything.

manage.py preview_query "diffusion -medical" --jsonl papers.jsonl          # papers from a file
manage.py preview_query 'title:"graph neural"' --days 3 --limit 5         # the last 3 days in the DB
manage.py preview_query "LLM agents" --jsonl papers.jsonl --format jsonl  # one JSON object per match
manage.py preview_query --trending --categories cs.CV,cs.LG --format jsonl  # today's trending papers, best first
manage.py preview_query --like seeds.jsonl --jsonl papers.jsonl            # the papers most like these
manage.py preview_query "diffusion" --like seeds.jsonl --jsonl papers.jsonl  # that interest and that library
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from digest.ingest.text import title_key
from digest.library.combine import pool_size
from digest.library.planning import digest_with_library
from digest.library.records import LibraryPaperDoc
from digest.library.similarity import LibraryIndex
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
    help = (
        "Show the papers a query and/or a library (--like) would bring (from a JSON Lines file or the last N days),"
        " best first."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "query", nargs="?", default="", help='an interest query, e.g. "diffusion -medical" (optional with --like)'
        )
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
        parser.add_argument(
            "--like",
            type=Path,
            metavar="SEEDS",
            help="a library: papers (ingest JSON Lines) to find more of; they are never listed themselves",
        )
        source = parser.add_mutually_exclusive_group()
        source.add_argument("--jsonl", type=Path, metavar="FILE", help="papers from a JSON Lines file (ingest format)")
        source.add_argument("--days", type=int, metavar="N", help="papers ingested in the last N days (default 1)")
        parser.add_argument("--limit", type=int, default=10, metavar="K", help="show the best K (default 10)")
        parser.add_argument("--format", choices=("text", "jsonl"), default="text")
        parser.add_argument("--muted", action="append", default=[], metavar="WORD", help="a muted word (repeatable)")

    def handle(self, *args, **options):
        if options["trending"]:
            if options["like"] is not None:
                raise CommandError("--trending lists the database's trending papers: give no --like")
            return self._trending(options)
        if options["categories"]:
            raise CommandError("--categories only applies with --trending; in a query write category:cs.CV")
        query = options["query"] or ""
        try:
            if query:
                parse_query(query)
            muted = tuple(validate_muted(w) for w in options["muted"])
        except QueryError as err:
            raise CommandError(str(err)) from err
        if not query and options["like"] is None:
            raise CommandError("give a query, --like SEEDS.jsonl, or both (or --trending for the trending papers)")
        if options["limit"] < 1:
            raise CommandError("--limit must be at least 1")
        warn = lambda msg: self.stderr.write(f"warning: {msg}")  # noqa: E731

        docs, extras = self._pool(options, warn)

        limit = options["limit"]
        everything = []
        if query:
            index = PaperIndex.build(docs)
            # Every match is counted; the best --limit of them are shown.
            everything = match_profile(index, Profile(key=0, interests=(query,), muted=muted, limit=len(docs) or 1))
        matches = everything
        if options["like"] is not None:
            seeds, _ = docs_from_jsonl(Path(options["like"]), lambda msg: warn(f"{options['like']}: {msg}"))
            if not seeds:
                raise CommandError(f"{options['like']}: no papers to find more of")
            library = [LibraryPaperDoc(key=f"seed:{d.key}", title=d.title, abstract=d.abstract) for d in seeds]
            own = _seed_papers(docs, extras, seeds, self._seed_ids(options["like"]))
            # Fused as a digest of --limit is (pool_size(limit) of each list); the count is that fused
            # pool's (at most 3x --limit), and the best --limit of it are shown.
            everything = digest_with_library(
                matches=everything,
                index=LibraryIndex.build(docs),
                library=library,
                own=own,
                limit=pool_size(limit),
                pool=pool_size(limit),
            )
            matches = everything
        matches = matches[:limit]
        self._write(options, query, docs, extras, matches, len(everything))

    @staticmethod
    def _pool(options, warn):
        """The papers to rank: a JSON Lines file, or the last --days days in the database."""
        if options["jsonl"] is not None:
            return docs_from_jsonl(Path(options["jsonl"]), warn)
        days = options["days"] if options["days"] is not None else 1
        if days < 1:
            raise CommandError("--days must be at least 1")
        return docs_from_db(days)

    @staticmethod
    def _seed_ids(path: Path) -> set[str]:
        ids = set()
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict) and row.get("id"):
                ids.add(str(row["id"]))
        return ids

    def _write(self, options, query, docs, extras, matches, total: int) -> None:
        titles = {d.key: d.title for d in docs}
        if options["format"] == "jsonl":
            for m in matches:
                record = {
                    "title": titles[m.paper_key],
                    "score": round(m.score, 4),
                    "matches": list(m.matched_terms),
                    "reasons": [r.interest for r in m.reasons],
                }
                self.stdout.write(json.dumps(record, ensure_ascii=False))
            return
        what = " and ".join(x for x in (query, f"papers like {options['like']}" if options["like"] else "") if x)
        shown = f" (the best {len(matches)} shown)" if len(matches) < total else ""
        self.stdout.write(
            f"{total} match{'es' if total != 1 else ''} among {len(docs)} "
            f"paper{'s' if len(docs) != 1 else ''}{shown} for: {what}"
        )
        for rank, m in enumerate(matches, start=1):
            url = extras.get(m.paper_key, {}).get("url") or ""
            self.stdout.write(f"{rank:>3}. [{m.score:.2f}] {titles[m.paper_key]}" + (f"  <{url}>" if url else ""))
            if m.matched_terms:
                self.stdout.write(f"     matched: {', '.join(m.described_terms)}")
            for reason in m.reasons:
                if not reason.terms:
                    self.stdout.write(f"     {reason.interest}")
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


def _seed_papers(docs, extras, seeds, seed_ids: set[str]) -> frozenset[int]:
    """The pool's papers that are seed papers (same id, or same title): never listed."""
    titles = {title_key(s.title) for s in seeds}
    return frozenset(
        d.key
        for d in docs
        if title_key(d.title) in titles or (seed_ids and str(extras.get(d.key, {}).get("id") or "") in seed_ids)
    )
