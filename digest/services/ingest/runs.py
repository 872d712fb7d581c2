"""Fetching one feed: claim it, fetch through its adapter, store, record the ``FeedRun``, schedule the next.

- ``feed_ingest`` runs one feed: claims it (one run per feed at a time; the running ``FeedRun`` is the
  lease), fetches, stores through :func:`digest.services.ingest.store.papers_store`, records a
  ``FeedRun``, moves the cursor and schedules the next fetch (backing off while the feed fails;
  flagged after ``PAPERBOY_FEED_FLAG_AFTER_FAILURES`` failures in a row).
- ``feeds_due`` / ``feeds_ingest_due`` pick the feeds whose time has come.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from digest.ingest import ADAPTERS
from digest.ingest.http import HttpClient
from digest.ingest.records import FeedSpec, FetchError, FetchResult
from digest.ingest.run_cap import fetch_result_cap, run_limit
from digest.ingest.sources import SourceRefused, import_path_resolve, source_is_file
from digest.models import Feed, FeedRun
from digest.services.ingest.store import StoreResult, papers_store

logger = logging.getLogger(__name__)

MAX_SKIP_REASONS = 200
MAX_VALIDATORS = 60


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
    return feed.consecutive_failures >= settings.PAPERBOY_FEED_FLAG_AFTER_FAILURES


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


def feeds_refresh_stale(*, now: datetime, kinds: tuple[str, ...], client: HttpClient | None = None) -> list[int]:
    """Fetch now the due feeds of ``kinds`` (the upvote sources, before a slot is planned).

    A feed is due when its cadence has passed since its last fetch, so after this call the figures
    it gave (upvotes) are younger than its cadence -- unless the fetch failed, which its FeedRun shows.
    """
    due = Feed.objects.filter(id__in=feeds_due(now=now), kind__in=kinds).values_list("id", flat=True)
    ran = []
    for feed_id in due:
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
        if running.filter(started_at__gt=now - timedelta(seconds=settings.PAPERBOY_FEED_LEASE_SECONDS)).exists():
            logger.info("feed %s is already being ingested; skipping", feed)
            return None
        running.update(
            status=FeedRun.Status.FAILED,
            finished_at=now,
            error="abandoned: the worker running it stopped before finishing",
        )
        return FeedRun.objects.create(feed=feed, started_at=now, status=FeedRun.Status.RUNNING)


def _source_check(feed: Feed) -> None:
    """A file feed reads only under PAPERBOY_IMPORT_DIR, checked at every read (rows can be edited),
    and never for a subscriber's suggestion."""
    if not source_is_file(kind=feed.kind, url=feed.url):
        return
    if feed.suggested_by_id:
        raise FetchError("a suggested JSON Lines feed must use an http(s) URL, not a local path")
    try:
        import_path_resolve(feed.url)
    except SourceRefused as exc:
        raise FetchError(str(exc)) from None


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
        _source_check(feed)
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
    delay = min(max(1, feed.cadence_minutes) * 2 ** min(failures - 1, 10), settings.PAPERBOY_FEED_MAX_BACKOFF_MINUTES)
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
    if feed.consecutive_failures == settings.PAPERBOY_FEED_FLAG_AFTER_FAILURES:
        logger.error("feed %s flagged: failed %d times in a row; last error: %s", feed, failures, error)
    else:
        logger.warning("feed %s failed (%d in a row): %s", feed, feed.consecutive_failures, error)
    return run


def run_summary(run: FeedRun) -> str:
    text = f"{run.status}: fetched {run.fetched}, new {run.new}, updated {run.updated}, skipped {run.skipped}" + (
        f", HTTP {run.http_status}" if run.http_status else ""
    )
    return f"{text}; {run.error}" if run.error else text
