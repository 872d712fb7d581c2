"""The one place papers are stored, and the fetch-a-feed workflow around it.

- ``papers_store`` turns ``PaperRecord``s into ``Paper`` rows: one row per paper whatever the number
  of sources (arXiv id first, then the source's own id, then normalised title + first author),
  updates in place (new version, new upvotes), never inserts twice. Each record is stored in its own
  savepoint so one bad record loses nothing else; the unique ``external_id`` is the last word when
  two workers race.
- ``feed_ingest`` runs one feed: claims it (one run per feed at a time), fetches through the
  feed's adapter, stores, records a ``FeedRun``, moves the cursor and schedules the next fetch
  (backing off while the feed fails; flagged after ``PAPERBOY_FEED_FLAG_AFTER_FAILURES`` failures in a row).
- ``feeds_due`` / ``feeds_ingest_due`` pick the feeds whose time has come.

``Paper.ingested_at`` is set when a row is inserted and never changed: the digest's window is built on it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from digest.ingest import ADAPTERS
from digest.ingest.http import HttpClient
from digest.ingest.jsonl import file_parse
from digest.ingest.records import SOURCE_RANK, FeedSpec, FetchError, FetchResult, PaperRecord, Skip
from digest.ingest.run_cap import fetch_result_cap, run_limit
from digest.ingest.sources import SourceRefused, import_path_resolve, source_check, source_is_file
from digest.ingest.text import (
    TITLE_KEY_MAX,
    author_key,
    id_hash,
    text_clean,
    title_key,
    url_clean,
)
from digest.models import Feed, FeedRun, Paper

logger = logging.getLogger(__name__)

MAX_SKIP_REASONS = 200
MAX_AUTHORS = 500
MAX_VALIDATORS = 60
# Fields whose value comes from the most authoritative source that described the paper.
TEXT_FIELDS = ("title", "abstract", "authors", "categories", "primary_category", "url", "pdf_url")


def flag_after() -> int:
    return int(getattr(settings, "PAPERBOY_FEED_FLAG_AFTER_FAILURES", 3))


def lease_seconds() -> int:
    return int(getattr(settings, "PAPERBOY_FEED_LEASE_SECONDS", 1800))


def max_backoff_minutes() -> int:
    return int(getattr(settings, "PAPERBOY_FEED_MAX_BACKOFF_MINUTES", 24 * 60))


# --- Storing papers ------------------------------------------------------------------------------


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
        title=text_clean(record.title, limit=1000),
        abstract=text_clean(record.abstract, limit=20000),
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
    first = author_key(record.authors[0]) if record.authors else ""
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
        first = author_key(record.authors[0]) if record.authors else ""
        candidates = Paper.objects.select_for_update().filter(title_key=key).order_by("id")
        if record.arxiv_id:
            candidates = candidates.filter(arxiv_id="")
        for candidate in candidates[:20]:
            theirs = author_key(candidate.authors[0]) if candidate.authors else ""
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
    changes: dict[str, object] = {}

    def put(name: str, value) -> None:
        if getattr(paper, name) != value:
            changes[name] = value

    stored_rank = SOURCE_RANK.get((paper.extra or {}).get("text_source", ""), 0)
    newer = record.version is not None and (paper.version or 0) < record.version
    older = record.version is not None and paper.version is not None and record.version < paper.version
    authoritative = newer or (not older and SOURCE_RANK.get(record.source, 0) >= stored_rank)

    if record.arxiv_id and not paper.arxiv_id:
        # An id-less paper (a lab's RSS, a JSONL line) learns its arXiv id from a later source.
        put("arxiv_id", record.arxiv_id)
        put("external_id", record.arxiv_id)
    for name in TEXT_FIELDS:
        value = getattr(record, name)
        if value and (authoritative or not getattr(paper, name)):
            put(name, value)
    if record.version is not None and (newer or paper.version is None):
        put("version", record.version)
    if record.updated and (authoritative or paper.updated is None):
        put("updated", record.updated)
    if record.published and paper.published is None:
        put("published", record.published)
    if record.hf_url:
        put("hf_url", record.hf_url)
    # Popularity is refreshed on every fetch of the source that has it.
    if record.popularity is not None:
        put("popularity", record.popularity)
    if record.num_comments is not None:
        put("num_comments", record.num_comments)
    extra = {**(paper.extra or {}), **record.extra}
    if authoritative:
        extra["text_source"] = record.source
    put("extra", extra)
    if "title" in changes:
        put("title_key", key)
    for name, value in changes.items():
        setattr(paper, name, value)
    return list(changes)


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


# --- Feeds ---------------------------------------------------------------------------------------


def feed_spec(feed: Feed) -> FeedSpec:
    categories = feed.categories.replace(",", " ").split()
    return FeedSpec(
        kind=feed.kind,
        name=feed.name,
        url=feed.url.strip(),
        categories=categories,
        params=dict(feed.params or {}),
        cursor=dict(feed.cursor or {}),
    )


def feed_is_flagged(feed: Feed) -> bool:
    """A feed that failed ``PAPERBOY_FEED_FLAG_AFTER_FAILURES`` times in a row needs a human."""
    return feed.consecutive_failures >= flag_after()


def feeds_due(*, now: datetime) -> list[int]:
    """Ids of the approved, enabled feeds whose next fetch time has come (never-fetched first)."""
    return list(
        Feed.objects.filter(enabled=True, state=Feed.State.APPROVED)
        .filter(Q(next_fetch_at__isnull=True) | Q(next_fetch_at__lte=now))
        .order_by(F("next_fetch_at").asc(nulls_first=True), "id")
        .values_list("id", flat=True)
    )


def feeds_ingest_due(*, now: datetime, client: HttpClient | None = None) -> list[int]:
    """Ingest every due feed now, one after the other (the synchronous path: commands, the demo)."""
    ran = []
    for feed_id in feeds_due(now=now):
        if feed_ingest(feed_id=feed_id, only_if_due=True, now=now, client=client) is not None:
            ran.append(feed_id)
    return ran


def _is_due(feed: Feed, now: datetime) -> bool:
    return (
        feed.enabled and feed.state == Feed.State.APPROVED and (feed.next_fetch_at is None or feed.next_fetch_at <= now)
    )


def _run_claim(*, feed_id: int, now: datetime, only_if_due: bool) -> FeedRun | None:
    """Start a run unless another worker is running this feed: the running FeedRun is the lease.

    The feed row lock serialises the check-and-create between workers; a run left ``running`` by a
    worker that died is closed as failed once it is older than ``PAPERBOY_FEED_LEASE_SECONDS``.
    """
    with transaction.atomic():
        feed = Feed.objects.select_for_update().filter(pk=feed_id).first()
        if feed is None:
            logger.warning("feed %s does not exist", feed_id)
            return None
        if only_if_due and not _is_due(feed, now):
            return None
        running = FeedRun.objects.filter(feed=feed, status=FeedRun.Status.RUNNING)
        if running.filter(started_at__gt=now - timedelta(seconds=lease_seconds())).exists():
            logger.info("feed %s is already being ingested; skipping", feed)
            return None
        running.update(
            status=FeedRun.Status.FAILED,
            finished_at=now,
            error="abandoned: the worker running it stopped before finishing",
        )
        return FeedRun.objects.create(feed=feed, started_at=now, status=FeedRun.Status.RUNNING)


def feed_ingest(
    *,
    feed_id: int,
    since: date | datetime | None = None,
    only_if_due: bool = False,
    now: datetime | None = None,
    client: HttpClient | None = None,
) -> FeedRun | None:
    """Fetch one feed and store its papers; returns the FeedRun, or None when it did not run
    (already running elsewhere, or not due when ``only_if_due``). Never raises for a bad feed."""
    now = now or timezone.now()
    run = _run_claim(feed_id=feed_id, now=now, only_if_due=only_if_due)
    if run is None:
        return None
    feed = run.feed
    adapter = ADAPTERS.get(feed.kind)
    try:
        if adapter is None:
            raise FetchError(f"unknown feed kind {feed.kind!r}")
        if source_is_file(kind=feed.kind, url=feed.url):
            if feed.suggested_by_id:
                # A user's suggestion must never make the server read its own files.
                raise FetchError("a suggested JSON Lines feed must use an http(s) URL, not a local path")
            try:
                import_path_resolve(feed.url)  # checked again at every read: rows can be edited
            except SourceRefused as exc:
                raise FetchError(str(exc)) from None
        fetched = adapter(spec=feed_spec(feed), client=client or HttpClient.from_settings(), since=since, now=now)
        limit = run_limit(default=settings.PAPERBOY_FEED_MAX_PAPERS_PER_RUN, params=feed.params or {})
        fetched = fetch_result_cap(fetched, limit=limit)
    except FetchError as exc:
        return _run_fail(
            run=run, feed=feed, now=now, error=str(exc), http_status=exc.http_status, retry=exc.retry_after
        )
    except Exception as exc:  # A bug in one adapter must not stop the other feeds.
        logger.exception("feed %s: unexpected error", feed)
        return _run_fail(run=run, feed=feed, now=now, error=f"unexpected error: {exc.__class__.__name__}: {exc}")
    try:
        stored = papers_store(records=fetched.records, feed=feed) if not fetched.not_modified else StoreResult()
    except Exception as exc:
        logger.exception("feed %s: storing failed", feed)
        return _run_fail(run=run, feed=feed, now=now, error=f"storing failed: {exc.__class__.__name__}: {exc}")
    return _run_finish(run=run, feed=feed, now=now, fetched=fetched, stored=stored)


def _run_finish(*, run: FeedRun, feed: Feed, now: datetime, fetched: FetchResult, stored: StoreResult) -> FeedRun:
    skipped = [*fetched.skipped, *stored.skipped]
    invalid = [s for s in skipped if s.invalid]
    if fetched.not_modified:
        status = FeedRun.Status.NOT_MODIFIED
    elif fetched.error or invalid:
        status = FeedRun.Status.PARTIAL
    else:
        status = FeedRun.Status.OK
    run.status = status
    run.finished_at = timezone.now()
    run.http_status = fetched.http_status
    run.fetched = len(fetched.records) + len(fetched.skipped)
    run.new = stored.new
    run.updated = stored.updated
    run.skipped = len(skipped)
    run.skipped_reasons = [s.as_dict() for s in skipped[:MAX_SKIP_REASONS]]
    run.error = fetched.error[:2000]
    run.save()

    cursor = dict(feed.cursor or {})
    cursor.update(fetched.cursor)
    if fetched.validators:
        validators = {**cursor.get("validators", {}), **{u: v.as_dict() for u, v in fetched.validators.items()}}
        cursor["validators"] = dict(list(validators.items())[-MAX_VALIDATORS:])
        last = list(fetched.validators.values())[-1]
        feed.etag, feed.last_modified = last.etag[:500], last.last_modified[:100]
    feed.cursor = cursor
    feed.last_fetched_at = now
    feed.last_status = status
    feed.last_error = run.error
    feed.consecutive_failures = 0
    feed.next_fetch_at = now + timedelta(minutes=max(1, feed.cadence_minutes))
    feed.save(
        update_fields=[
            "cursor",
            "etag",
            "last_modified",
            "last_fetched_at",
            "last_status",
            "last_error",
            "consecutive_failures",
            "next_fetch_at",
        ]
    )
    logger.info("feed %s: %s", feed, run_summary(run))
    return run


def _run_fail(
    *,
    run: FeedRun,
    feed: Feed,
    now: datetime,
    error: str,
    http_status: int | None = None,
    retry: float | None = None,
) -> FeedRun:
    run.status = FeedRun.Status.FAILED
    run.finished_at = timezone.now()
    run.http_status = http_status
    run.error = error[:2000]
    run.save()
    failures = feed.consecutive_failures + 1
    # Back off while a source is down: cadence × 2^(failures-1), capped; a Retry-After wins if longer.
    delay = min(max(1, feed.cadence_minutes) * 2 ** min(failures - 1, 10), max_backoff_minutes())
    next_at = now + timedelta(minutes=delay)
    if retry is not None:
        next_at = max(next_at, now + timedelta(seconds=retry))
    Feed.objects.filter(pk=feed.pk).update(
        last_fetched_at=now,
        last_status=FeedRun.Status.FAILED,
        last_error=run.error,
        consecutive_failures=F("consecutive_failures") + 1,
        next_fetch_at=next_at,
    )
    feed.refresh_from_db()
    if feed.consecutive_failures == flag_after():
        logger.error("feed %s flagged: failed %d times in a row; last error: %s", feed, failures, error)
    else:
        logger.warning("feed %s failed (%d in a row): %s", feed, feed.consecutive_failures, error)
    return run


def run_summary(run: FeedRun) -> str:
    text = f"{run.status}: fetched {run.fetched}, new {run.new}, updated {run.updated}, skipped {run.skipped}" + (
        f", HTTP {run.http_status}" if run.http_status else ""
    )
    return f"{text}; {run.error}" if run.error else text


# --- Creating feeds (add_feed) -------------------------------------------------------------------


class FeedConfigError(ValueError):
    """A feed definition we cannot use; the message says why."""


def feed_create(
    *,
    kind: str,
    name: str,
    url: str = "",
    categories: list[str] | None = None,
    params: dict | None = None,
    cadence_minutes: int | None = None,
) -> Feed:
    """Create an approved, enabled feed from the command line (the operator vouches for it)."""
    name = text_clean(name)
    if kind not in Feed.Kind.values:
        raise FeedConfigError(f"unknown kind {kind!r}; choose one of {', '.join(Feed.Kind.values)}")
    if not name:
        raise FeedConfigError("a feed needs a name")
    if Feed.objects.filter(name=name).exists():
        raise FeedConfigError(f"a feed named {name!r} already exists")
    cats = [c.strip() for c in (categories or []) if c.strip()]
    if kind in {Feed.Kind.ARXIV, Feed.Kind.ARXIV_RSS} and not cats:
        raise FeedConfigError("arXiv feeds need --categories, e.g. cs.LG,cs.CL")
    from digest.ingest.arxiv import CATEGORY_RE

    bad = [c for c in cats if not CATEGORY_RE.match(c)]
    if bad and kind in {Feed.Kind.ARXIV, Feed.Kind.ARXIV_RSS}:
        raise FeedConfigError(f"not arXiv categories: {', '.join(bad)}")
    try:
        url = source_check(kind=kind, url=url, files_allowed=True)
    except SourceRefused as exc:
        raise FeedConfigError(str(exc)) from None
    default_cadence = {Feed.Kind.ARXIV: 180, Feed.Kind.ARXIV_RSS: 60, Feed.Kind.HF_DAILY: 60}.get(kind, 60)
    return Feed.objects.create(
        kind=kind,
        name=name,
        url=url,
        categories=" ".join(cats),
        params=params or {},
        cadence_minutes=cadence_minutes or default_cadence,
        state=Feed.State.APPROVED,
        enabled=True,
    )
