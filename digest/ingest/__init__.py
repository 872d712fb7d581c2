"""Paper ingestion: one adapter module per source, each turning a response into plain ``PaperRecord``s.

Adapters are pure (no ORM): ``fetch(*, spec, client, since=None, now=None) -> FetchResult``.
Storing records is the job of ``digest.services.ingest.store``.
"""

from __future__ import annotations

from collections.abc import Callable

from digest.ingest import arxiv, arxiv_rss, hf_daily, jsonl, rss
from digest.ingest.records import FetchResult

ADAPTERS: dict[str, Callable[..., FetchResult]] = {
    "arxiv": arxiv.fetch,
    "arxiv_rss": arxiv_rss.fetch,
    "hf_daily": hf_daily.fetch,
    "rss": rss.fetch,
    "jsonl": jsonl.fetch,
}
