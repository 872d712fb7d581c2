"""JSON Lines papers: one object per line, ``title`` and ``abstract`` required; ``id``, ``authors``,
``categories``, ``url``, ``pdf_url``, ``published``, ``upvotes`` (a count) optional. A bad line (not JSON,
not an object, no title, no abstract, not UTF-8) is skipped with its line number; the good lines still land.

Read from a local path (``ingest_papers --jsonl``, or a ``jsonl`` feed whose url is a path) or over
http(s) when a feed's url is one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from digest.ingest.arxiv import abs_url, pdf_url
from digest.ingest.http import HttpClient
from digest.ingest.parsing import body_require, datetime_parse
from digest.ingest.records import FeedSpec, FetchError, FetchResult, PaperRecord, Skip, Validators
from digest.ingest.text import (
    ABSTRACT_MAX,
    TITLE_MAX,
    arxiv_id_parse,
    authors_split,
    doi_clean,
    id_hash,
    text_clean,
    url_clean,
)


def fetch(*, spec: FeedSpec, client: HttpClient, since=None, now: datetime | None = None) -> FetchResult:
    if not spec.url:
        raise FetchError("a JSON Lines feed needs a file path or an http(s) URL")
    if spec.url.startswith(("http://", "https://")):
        stored = spec.cursor.get("validators", {}).get(spec.url, {})
        response = client.get(spec.url, validators=None if since else Validators(**stored))
        result = FetchResult(http_status=response.status)
        if response.not_modified:
            result.not_modified = True
            return result
        result.validators[spec.url] = response.validators
        body_require(response.body, what="a JSON Lines file")
        result.records, result.skipped = lines_parse(response.body.splitlines())
        return result
    records, skipped = file_parse(Path(spec.url))
    return FetchResult(records=records, skipped=skipped)


def file_parse(path: Path) -> tuple[list[PaperRecord], list[Skip]]:
    if not path.is_file():
        raise FetchError(f"no such file: {path}")
    try:
        with path.open("rb") as handle:
            return lines_parse(handle)
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc}") from None


def lines_parse(lines: Iterable[bytes]) -> tuple[list[PaperRecord], list[Skip]]:
    records: list[PaperRecord] = []
    skipped: list[Skip] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        ref = f"line {number}"
        try:
            records.append(line_parse(raw, ref=ref))
        except ValueError as exc:
            skipped.append(Skip(entry=ref, reason=str(exc)))
    return records, skipped


def _names(value) -> list[str]:
    if isinstance(value, str):
        return authors_split(value)
    names: list[str] = []
    for item in value if isinstance(value, list) else []:
        name = item.get("name") if isinstance(item, dict) else item
        if isinstance(name, str) and text_clean(name):
            names.append(text_clean(name, limit=300))
    return names


def _categories(value) -> list[str]:
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    if not isinstance(value, list):
        return []
    cleaned = [text_clean(c, limit=64) for c in value if isinstance(c, str)]
    return [c for c in dict.fromkeys(cleaned) if c]


def line_parse(raw: bytes, *, ref: str = "") -> PaperRecord:
    try:
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else str(raw)
    except UnicodeDecodeError:
        raise ValueError("not valid UTF-8") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(data, dict):
        raise ValueError(f"not a JSON object (got {type(data).__name__})")
    title_raw = data.get("title")
    title = text_clean(title_raw, limit=TITLE_MAX) if isinstance(title_raw, str) else ""
    if not title:
        raise ValueError("missing title")
    abstract_raw = data.get("abstract")
    abstract = text_clean(abstract_raw, limit=ABSTRACT_MAX) if isinstance(abstract_raw, str) else ""
    if not abstract:
        raise ValueError("missing abstract")

    raw_id = text_clean(data.get("id")) if isinstance(data.get("id"), str | int) else ""
    parsed = arxiv_id_parse(raw_id) if raw_id else None
    arxiv_id, version = parsed if parsed else ("", None)
    source_id = ""
    extra: dict = {}
    if raw_id and not arxiv_id:
        doi = doi_clean(raw_id)
        own = raw_id if len(raw_id) <= 200 else id_hash(raw_id)
        source_id = f"doi:{doi}" if doi else f"jsonl:{own}"
        extra = {"doi": doi} if doi else {}
    categories = _categories(data.get("categories"))
    upvotes = data.get("upvotes")
    return PaperRecord(
        source="jsonl",
        title=title,
        abstract=abstract,
        arxiv_id=arxiv_id,
        version=version,
        source_id=source_id,
        authors=_names(data.get("authors")),
        categories=categories,
        primary_category=categories[0] if categories else "",
        url=url_clean(data.get("url")) or (abs_url(arxiv_id) if arxiv_id else ""),
        pdf_url=url_clean(data.get("pdf_url")) or (pdf_url(arxiv_id) if arxiv_id else ""),
        published=datetime_parse(data.get("published")) if isinstance(data.get("published"), str | int) else None,
        # Optional community upvotes (a Hugging Face Daily Papers export); anything but a count is ignored.
        popularity=upvotes if isinstance(upvotes, int) and not isinstance(upvotes, bool) and upvotes >= 0 else None,
        extra=extra,
        ref=ref,
    )
