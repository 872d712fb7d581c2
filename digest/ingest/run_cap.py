"""At most so many papers from one feed in one run (security review L10).

A compromised or broken approved feed could otherwise flood every digest: a 20,000-item RSS file
added 20,000 papers in one run. The first ``limit`` entries (feeds list the newest first) are
stored; the rest are reported on the run as one skipped entry, which makes the run "partial" and
visible in the admin. ``PAPERBOY_FEED_MAX_PAPERS_PER_RUN`` is the default; a feed whose source is
really that big says so with its ``max_papers_per_run`` param (an operator's decision).
"""

from __future__ import annotations

from dataclasses import replace

from digest.ingest.records import FetchResult, Skip


def run_limit(*, default: int, params: dict) -> int:
    value = params.get("max_papers_per_run")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default


def fetch_result_cap(result: FetchResult, *, limit: int) -> FetchResult:
    extra = len(result.records) - limit
    if extra <= 0:
        return result
    note = Skip(
        entry=f"{extra} more entries",
        reason=(
            f"this run stopped at {limit} papers (PAPERBOY_FEED_MAX_PAPERS_PER_RUN, or the feed's "
            "max_papers_per_run param); far more than a feed usually sends"
        ),
    )
    return replace(result, records=result.records[:limit], skipped=[*result.skipped, note])
