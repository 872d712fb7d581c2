"""Hugging Face Daily Papers adapter (``/api/daily_papers?date=YYYY-MM-DD``, or ``week=``/``month=``).

Each item holds a ``paper`` object (``id`` is the arXiv id, ``title``/``summary`` with hard line
breaks, ``authors`` as objects, ``publishedAt`` = the arXiv date, ``upvotes``) and item-level fields
(``publishedAt`` = when it was featured, ``title``, ``numComments``, optional ``ai_summary``,
``ai_keywords``, ``projectPage``, ``githubRepo``). Unknown keys are ignored; an error comes back as an
object (``{"error": ...}``) where a list was expected. Upvotes become the paper's popularity and are
refreshed on every fetch, which is why the last few days are re-read each time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from digest.ingest.arxiv import abs_url, pdf_url
from digest.ingest.http import HttpClient
from digest.ingest.json_items import MAX_INT_DIGITS, HugeNumber, Unreadable, int_bounded, json_items_one_by_one
from digest.ingest.parsing import datetime_parse, json_parse
from digest.ingest.records import FeedSpec, FetchError, FetchResult, PaperRecord, Skip, Validators, since_as_date
from digest.ingest.text import ABSTRACT_MAX, TITLE_MAX, arxiv_id_parse, body_decode, text_clean, url_clean

DEFAULT_URL = "https://huggingface.co/api/daily_papers"
MAX_DAYS = 14


def query_list(*, spec: FeedSpec, since, now: datetime) -> list[dict]:
    """The queries one fetch makes: a fixed week/month if the feed says so, else one per recent day."""
    base = {key: spec.params[key] for key in ("sort",) if spec.params.get(key)}
    for fixed in ("week", "month"):
        if spec.params.get(fixed):
            return [{**base, fixed: spec.params[fixed]}]
    today = now.astimezone(UTC).date()
    first = since_as_date(since)
    if first is None:
        first = today - timedelta(days=max(0, int(spec.params.get("days", 2)) - 1))
    first = max(first, today - timedelta(days=MAX_DAYS - 1))
    days = [first + timedelta(days=n) for n in range((today - first).days + 1)]
    return [{**base, "date": day.isoformat()} for day in days]


def fetch(*, spec: FeedSpec, client: HttpClient, since=None, now: datetime | None = None) -> FetchResult:
    now = now or datetime.now(UTC)
    url = spec.url or DEFAULT_URL
    limit = max(1, min(int(spec.params.get("limit", 100)), 100))
    max_pages = max(1, int(spec.params.get("max_pages", 3)))
    result = FetchResult()
    stored = spec.cursor.get("validators", {})
    changed = False
    for query in query_list(spec=spec, since=since, now=now):
        for page in range(max_pages):
            params = {**query, "limit": limit, "p": page}
            key = f"{url}?{'&'.join(f'{k}={v}' for k, v in sorted(params.items()))}"
            try:
                response = client.get(
                    url,
                    params=params,
                    validators=None if since else Validators(**stored.get(key, {})),
                    accept="application/json",
                )
            except FetchError as exc:
                if not result.records and not changed:
                    raise
                result.error = f"{query}: {exc}"
                return result
            result.http_status = response.status
            if response.not_modified:
                break
            changed = True
            result.validators[key] = response.validators
            items = items_from_body(response.body, charset=response.charset)
            records, skipped = items_parse(items, ref_prefix=query.get("date") or str(query))
            result.records.extend(records)
            result.skipped.extend(skipped)
            if len(items) < limit:
                break
    result.not_modified = not changed
    featured = [str(r.extra["hf_featured_at"]) for r in result.records if r.extra.get("hf_featured_at")]
    if featured:
        result.cursor = {"last_featured_at": max(featured)}
    return result


def items_from_body(body: bytes, *, charset: str = "") -> list:
    what = "the Hugging Face daily papers response"
    try:
        data = json_parse(body, charset=charset, what=what, parse_int=int_bounded)
    except RecursionError:
        # One item nested absurdly deep: read the list item by item so only that one is lost.
        data = json_items_one_by_one(body_decode(body, declared_charset=charset), what=what)
    if isinstance(data, dict):
        # The error's own text is not quoted: a run's error never carries the response body.
        raise FetchError("Hugging Face returned a JSON object (an error?) instead of the list of papers")
    if not isinstance(data, list):
        raise FetchError(f"expected a JSON list of papers, got {type(data).__name__}")
    return data


def items_parse(items: list, *, ref_prefix: str = "") -> tuple[list[PaperRecord], list[Skip]]:
    records: list[PaperRecord] = []
    skipped: list[Skip] = []
    for position, item in enumerate(items, start=1):
        ref = f"{ref_prefix} item {position}".strip()
        try:
            records.append(item_parse(item, ref=ref))
        except ValueError as exc:
            skipped.append(Skip(entry=ref, reason=str(exc)))
    return records, skipped


# Counts beyond this are not counts (and would overflow the database column).
COUNT_MAX = 2**31 - 1


def _count_or_none(value, *, name: str) -> int | None:
    """A count from the response; out-of-range values skip the item (raised as ValueError)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, HugeNumber):
        raise ValueError(f"{name} has {value.digits} digits")
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        if len(value.strip().lstrip("-")) > MAX_INT_DIGITS:
            raise ValueError(f"{name} is not a plausible count")
        value = int(value)
    if not isinstance(value, int):
        return None
    if not 0 <= value <= COUNT_MAX:
        raise ValueError(f"{name} {value} is out of range")
    return value


def _str_or_empty(value) -> str:
    return value if isinstance(value, str) else ""


def item_parse(item, *, ref: str = "") -> PaperRecord:
    if isinstance(item, Unreadable):
        raise ValueError(item.reason)
    if not isinstance(item, dict):
        raise ValueError("item is not a JSON object")
    paper = item.get("paper")
    if not isinstance(paper, dict):
        raise ValueError("item has no paper object")
    raw_id = text_clean(_str_or_empty(paper.get("id")))
    title = text_clean(_str_or_empty(paper.get("title")) or _str_or_empty(item.get("title")), limit=TITLE_MAX)
    if not title:
        raise ValueError(f"paper {raw_id or '(no id)'} has no title")
    parsed = arxiv_id_parse(raw_id)
    arxiv_id = parsed[0] if parsed else ""
    if not arxiv_id and not raw_id:
        raise ValueError(f"paper {title[:80]!r} has no id")
    abstract = text_clean(_str_or_empty(paper.get("summary")) or _str_or_empty(item.get("summary")), limit=ABSTRACT_MAX)
    authors = []
    listed = paper.get("authors")
    for author in listed if isinstance(listed, list) else []:
        name = author.get("name") if isinstance(author, dict) else author
        if isinstance(name, str) and text_clean(name):
            authors.append(text_clean(name, limit=300))

    def pick(key: str):
        # Some keys moved between the item and its paper over time; accept either.
        value = item.get(key)
        return value if value not in (None, "", []) else paper.get(key)

    keywords = pick("ai_keywords")
    extra = {
        "ai_summary": text_clean(_str_or_empty(pick("ai_summary")), limit=2000),
        "ai_keywords": [text_clean(k, limit=100) for k in keywords if isinstance(k, str)][:30]
        if isinstance(keywords, list)
        else [],
        "github": url_clean(_str_or_empty(pick("githubRepo"))),
        "project_page": url_clean(_str_or_empty(pick("projectPage"))),
    }
    featured = datetime_parse(_str_or_empty(item.get("publishedAt")))
    if featured:
        extra["hf_featured_at"] = featured.isoformat()
    hf_id = arxiv_id or raw_id
    return PaperRecord(
        source="hf_daily",
        title=title,
        abstract=abstract,
        arxiv_id=arxiv_id,
        source_id="" if arxiv_id else f"hf:{raw_id[:200]}",
        authors=authors,
        url=abs_url(arxiv_id) if arxiv_id else "",
        pdf_url=pdf_url(arxiv_id) if arxiv_id else "",
        hf_url=url_clean(f"https://huggingface.co/papers/{hf_id}"),
        # paper.publishedAt is the arXiv date; item.publishedAt is only when HF featured it.
        published=datetime_parse(_str_or_empty(paper.get("publishedAt"))),
        popularity=_count_or_none(paper.get("upvotes"), name="upvotes"),
        num_comments=_count_or_none(item.get("numComments"), name="numComments"),
        extra={k: v for k, v in extra.items() if v},
        ref=f"{ref} ({hf_id})" if ref else hf_id,
    )
