"""Plain data passed from the source adapters to the one service that stores papers.

Adapters never touch the ORM: they turn bytes into ``PaperRecord``s (already cleaned by ``text``)
and report what they could not read as ``Skip``s with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

# Which source's text wins when two sources describe the same paper (higher wins). Popularity and
# comments always come from the source that has them (Hugging Face).
SOURCE_RANK = {"arxiv": 50, "arxiv_rss": 40, "jsonl": 30, "rss": 20, "hf_daily": 10}


@dataclass
class PaperRecord:
    """One paper as one source describes it."""

    source: str
    title: str
    abstract: str = ""
    # A bare arXiv id ("2401.01234", "hep-th/9901001") when the source gave one.
    arxiv_id: str = ""
    version: int | None = None
    # The source's own id when it is not an arXiv id ("doi:10.1/x", "rss:<guid>"), else "".
    source_id: str = ""
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    primary_category: str = ""
    url: str = ""
    pdf_url: str = ""
    hf_url: str = ""
    published: datetime | None = None
    updated: datetime | None = None
    popularity: int | None = None
    num_comments: int | None = None
    extra: dict = field(default_factory=dict)
    # Where the record came from inside the response ("line 3", an entry id), for skip reports.
    ref: str = ""
    # A replacement announcement (arXiv "replace"): update a paper we hold, never insert one.
    update_only: bool = False


@dataclass
class Skip:
    """An entry we did not store, and why (shown in the admin's FeedRun)."""

    entry: str
    reason: str
    # False for deliberate policy skips (a replacement of a paper we never had): they are not errors.
    invalid: bool = True

    def as_dict(self) -> dict:
        return {"entry": self.entry, "reason": self.reason}


@dataclass
class FeedSpec:
    """What an adapter needs to know about a feed (a plain copy of the ``Feed`` row)."""

    kind: str
    name: str
    url: str = ""
    categories: list[str] = field(default_factory=list)
    params: dict = field(default_factory=dict)
    cursor: dict = field(default_factory=dict)


@dataclass
class Validators:
    """HTTP cache validators for one URL, sent back as If-None-Match / If-Modified-Since."""

    etag: str = ""
    last_modified: str = ""

    def as_dict(self) -> dict:
        return {"etag": self.etag, "last_modified": self.last_modified}


@dataclass
class FetchResult:
    """What one fetch of one feed produced; a fatal error is raised as ``FetchError`` instead."""

    records: list[PaperRecord] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    http_status: int | None = None
    not_modified: bool = False
    # The adapter's cursor for the next incremental fetch (merged into Feed.cursor on success).
    cursor: dict = field(default_factory=dict)
    # Validators per URL fetched.
    validators: dict[str, Validators] = field(default_factory=dict)
    # A non-fatal problem (e.g. page 3 of 5 failed after pages 1-2 were read): the run is partial.
    error: str = ""


class FetchError(Exception):
    """A fetch that produced nothing usable; the message is what the admin reads."""

    def __init__(self, message: str, *, http_status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.http_status = http_status
        self.retry_after = retry_after


def since_as_date(value: date | datetime | None) -> date | None:
    if value is None:
        return None
    return value.date() if isinstance(value, datetime) else value
