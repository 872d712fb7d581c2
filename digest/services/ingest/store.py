"""The one place papers are stored: ``PaperRecord``s in, one ``Paper`` row per paper out.

One row per paper whatever the number of sources (arXiv id first, then the source's own id, then
normalised title + first author's surname), updated in place (new version, new upvotes), never
inserted twice. Each record is stored in its own savepoint so one bad record loses nothing else; the
unique ``external_id`` is the last word when two workers race.

``Paper.ingested_at`` is set when a row is inserted and never changed: the digest's window is built on it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from digest.ingest.jsonl import file_parse
from digest.ingest.records import SOURCE_RANK, PaperRecord, Skip
from digest.ingest.text import (
    ABSTRACT_MAX,
    TITLE_KEY_MAX,
    TITLE_MAX,
    id_hash,
    surname_key,
    text_clean,
    title_key,
    url_clean,
)
from digest.models import Feed, Paper

logger = logging.getLogger(__name__)

MAX_AUTHORS = 500
# Fields whose value comes from the most authoritative source that described the paper.
TEXT_FIELDS = ("title", "abstract", "authors", "categories", "primary_category", "url", "pdf_url")


@dataclass
class StoreResult:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[Skip] = field(default_factory=list)
    new_ids: list[int] = field(default_factory=list)

    @property
    def invalid(self) -> list[Skip]:
        return [s for s in self.skipped if s.invalid]


def papers_store(*, records: list[PaperRecord], feed: Feed | None = None) -> StoreResult:
    """Insert or update one Paper per record; see the module docstring for the identity rules."""
    result = StoreResult()
    for record in records:
        outcome, paper_id, skip = _record_store(record=record, feed=feed)
        if skip is not None:
            result.skipped.append(skip)
        elif outcome == "new":
            result.new += 1
            assert paper_id is not None, "a stored row has an id"
            result.new_ids.append(paper_id)
        elif outcome == "updated":
            result.updated += 1
        else:
            result.unchanged += 1
    return result


def record_sanitise(record: PaperRecord) -> PaperRecord:
    """Last line of defence before the database: lengths, URL schemes, one-line strings."""
    authors = [text_clean(a, limit=300) for a in record.authors if isinstance(a, str)]
    categories = [text_clean(c, limit=64) for c in record.categories if isinstance(c, str)]
    return replace(
        record,
        title=text_clean(record.title, limit=TITLE_MAX),
        abstract=text_clean(record.abstract, limit=ABSTRACT_MAX),
        arxiv_id=text_clean(record.arxiv_id)[:64],
        source_id=text_clean(record.source_id)[:255],
        authors=[a for a in authors if a][:MAX_AUTHORS],
        categories=[c for c in dict.fromkeys(categories) if c][:50],
        primary_category=text_clean(record.primary_category)[:64],
        url=url_clean(record.url),
        pdf_url=url_clean(record.pdf_url),
        hf_url=url_clean(record.hf_url),
        extra={k: v for k, v in record.extra.items() if v not in (None, "", [], {})},
    )


def _external_id(record: PaperRecord, key: str) -> str:
    if record.arxiv_id:
        return record.arxiv_id
    if record.source_id:
        return record.source_id
    first = surname_key(record.authors[0]) if record.authors else ""
    return f"title:{id_hash(key, first)}"


def _record_store(*, record: PaperRecord, feed: Feed | None) -> tuple[str, int | None, Skip | None]:
    record = record_sanitise(record)
    ref = record.ref or record.arxiv_id or record.source_id or record.title[:80]
    if not record.title:
        return "skipped", None, Skip(entry=ref, reason="missing title")
    key = title_key(record.title) or f"#{id_hash(record.title)}"[:TITLE_KEY_MAX]
    external_id = _external_id(record, key)
    for attempt in (1, 2, 3):
        try:
            with transaction.atomic():
                paper = _paper_find(record=record, external_id=external_id, key=key)
                if paper is None:
                    if record.update_only:
                        skip = Skip(entry=ref, reason="replacement of a paper we do not hold", invalid=False)
                        return "skipped", None, skip
                    paper = _paper_create(record=record, external_id=external_id, key=key, feed=feed)
                    return "new", paper.pk, None
                changed = _paper_merge(paper=paper, record=record, key=key)
                if not changed:
                    return "unchanged", paper.pk, None
                paper.save(update_fields=[*changed, "updated_at"])
                return "updated", paper.pk, None
        except IntegrityError as exc:
            # Another worker inserted the same paper between our lookup and insert: look again.
            if attempt == 3:
                logger.warning("could not store %s: %s", ref, exc)
                return "skipped", None, Skip(entry=ref, reason=f"database conflict: {exc}"[:300])
        except (DatabaseError, OverflowError, ValueError) as exc:
            # A value the database cannot take (SQLite raises OverflowError, not a DatabaseError).
            logger.exception("could not store %s", ref)
            return "skipped", None, Skip(entry=ref, reason=f"cannot store it: {exc}"[:300])
    raise AssertionError("unreachable")


def _paper_find(*, record: PaperRecord, external_id: str, key: str) -> Paper | None:
    paper = Paper.objects.select_for_update().filter(external_id=external_id).first()
    if paper is None:
        # No shared id: the same normalised title with the same first author is the same paper. An
        # arXiv record never merges into a paper that has a different arXiv id.
        first = surname_key(record.authors[0]) if record.authors else ""
        candidates = Paper.objects.select_for_update().filter(title_key=key).order_by("id")
        if record.arxiv_id:
            candidates = candidates.filter(arxiv_id="")
        for candidate in candidates[:20]:
            theirs = surname_key(candidate.authors[0]) if candidate.authors else ""
            if not first or not theirs or first == theirs:
                paper = candidate
                break
    if paper is not None and paper.duplicate_of_id:
        # A moderator merged it into another paper: updates go to the one that is shown.
        paper = Paper.objects.select_for_update().filter(pk=paper.duplicate_of_id).first() or paper
    return paper


def _paper_create(*, record: PaperRecord, external_id: str, key: str, feed: Feed | None) -> Paper:
    return Paper.objects.create(
        external_id=external_id,
        arxiv_id=record.arxiv_id,
        version=record.version,
        title_key=key,
        title=record.title,
        abstract=record.abstract,
        authors=record.authors,
        categories=record.categories,
        primary_category=record.primary_category or (record.categories[:1] or [""])[0],
        url=record.url,
        pdf_url=record.pdf_url,
        hf_url=record.hf_url,
        published=record.published,
        updated=record.updated,
        feed=feed,
        popularity=record.popularity,
        num_comments=record.num_comments,
        extra={**record.extra, "text_source": record.source},
        ingested_at=timezone.now(),
    )


def _paper_merge(*, paper: Paper, record: PaperRecord, key: str) -> list[str]:
    """Apply a record to a stored paper; returns the changed field names (never ``ingested_at``)."""
    changes = _Changes(paper)
    newer, authoritative = _record_authority(paper=paper, record=record)
    _identity_merge(changes, record)
    _text_merge(changes, record, authoritative=authoritative)
    _dates_merge(changes, record, newer=newer, authoritative=authoritative)
    _counts_merge(changes, record)
    _extra_merge(changes, record, authoritative=authoritative)
    if "title" in changes.values:
        changes.put("title_key", key)
    for name, value in changes.values.items():
        setattr(paper, name, value)
    return list(changes.values)


class _Changes:
    """The new values a record brings to a stored paper (a value equal to the stored one is no change)."""

    def __init__(self, paper: Paper) -> None:
        self.paper = paper
        self.values: dict[str, object] = {}

    def put(self, name: str, value: object) -> None:
        if getattr(self.paper, name) != value:
            self.values[name] = value


def _record_authority(*, paper: Paper, record: PaperRecord) -> tuple[bool, bool]:
    """(newer, authoritative): a newer version, or a source ranked at least as high as the one whose
    text is stored (and not an older version), replaces the stored text."""
    stored_rank = SOURCE_RANK.get((paper.extra or {}).get("text_source", ""), 0)
    newer = record.version is not None and (paper.version or 0) < record.version
    older = record.version is not None and paper.version is not None and record.version < paper.version
    return newer, newer or (not older and SOURCE_RANK.get(record.source, 0) >= stored_rank)


def _identity_merge(changes: _Changes, record: PaperRecord) -> None:
    if record.arxiv_id and not changes.paper.arxiv_id:
        # An id-less paper (a lab's RSS, a JSONL line) learns its arXiv id from a later source.
        changes.put("arxiv_id", record.arxiv_id)
        changes.put("external_id", record.arxiv_id)


def _text_merge(changes: _Changes, record: PaperRecord, *, authoritative: bool) -> None:
    for name in TEXT_FIELDS:
        value = getattr(record, name)
        if value and (authoritative or not getattr(changes.paper, name)):
            changes.put(name, value)


def _dates_merge(changes: _Changes, record: PaperRecord, *, newer: bool, authoritative: bool) -> None:
    paper = changes.paper
    if record.version is not None and (newer or paper.version is None):
        changes.put("version", record.version)
    if record.updated and (authoritative or paper.updated is None):
        changes.put("updated", record.updated)
    if record.published and paper.published is None:
        changes.put("published", record.published)


def _counts_merge(changes: _Changes, record: PaperRecord) -> None:
    if record.hf_url:
        changes.put("hf_url", record.hf_url)
    # Popularity is refreshed on every fetch of the source that has it.
    if record.popularity is not None:
        changes.put("popularity", record.popularity)
    if record.num_comments is not None:
        changes.put("num_comments", record.num_comments)


def _extra_merge(changes: _Changes, record: PaperRecord, *, authoritative: bool) -> None:
    extra = {**(changes.paper.extra or {}), **record.extra}
    if authoritative:
        extra["text_source"] = record.source
    changes.put("extra", extra)


# --- JSON Lines import (ingest_papers --jsonl) ---------------------------------------------------


@dataclass
class ImportSummary:
    read: int
    stored: StoreResult

    @property
    def skipped(self) -> list[Skip]:
        return self.stored.skipped


def papers_import_jsonl(*, path: Path, feed: Feed | None = None) -> ImportSummary:
    """Import a JSON Lines file; bad lines come back in ``skipped`` with their line numbers."""
    records, bad_lines = file_parse(Path(path))
    stored = papers_store(records=records, feed=feed)
    stored.skipped = [*bad_lines, *stored.skipped]
    return ImportSummary(read=len(records) + len(bad_lines), stored=stored)
