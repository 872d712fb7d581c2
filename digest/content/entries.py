"""What a ``Delivery.content`` entry is, how one is made, and what it says (see the package).

Every entry is made here (planned matches, learned suggestions, quiet-day near misses, trending
papers, a merged paper's replacement) and read here (matched terms, the near-miss line, its kind).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NotRequired, TypedDict, cast

from digest.matching import Match, Reason


class ContentReason(TypedDict):
    interest: str
    terms: list[str]
    # How each term was found, when one was found in another form ("LLM, as 'large language model'").
    described: NotRequired[list[str]]


class ContentEntry(TypedDict):
    """One paper of a stored digest (JSON: spans are ``[start, end]`` lists)."""

    paper: int
    score: float
    reasons: list[ContentReason]
    title_spans: list[list[int]]
    snippet: str
    snippet_spans: list[list[int]]
    suggested: bool
    # Quiet-day notes only: the paper nearly matched ``reasons[0]["interest"]`` but lacks ``missing``.
    near_miss: NotRequired[bool]
    missing: NotRequired[str]
    # Trending entries only (issue 19): the paper's upvotes when planned and its place in the window's list.
    trending: NotRequired[bool]
    upvotes: NotRequired[int]
    rank: NotRequired[int]


ContentMemo = dict[tuple, ContentEntry]
Spans = tuple[tuple[int, int], ...]


def content_from_matches(
    matches: Iterable[Match], *, suggested: bool = False, memo: ContentMemo | None = None
) -> list[ContentEntry]:
    """The stored form of matches. With ``memo`` (one per planning pass), the entry of a paper matched
    for the same reasons with the same score -- every subscriber with the same interests -- is built
    once and shared (entries are only ever serialised, never changed)."""
    if memo is None:
        return [_content_entry(match, suggested) for match in matches]
    out = []
    for match in matches:
        key = (match.paper_key, match.score, match.reasons, suggested)
        entry = memo.get(key)
        if entry is None:
            entry = memo[key] = _content_entry(match, suggested)
        out.append(entry)
    return out


def reason_entry(reason: Reason) -> ContentReason:
    """One reason as stored; "described" only when a word was found in another form (see :class:`Reason`)."""
    entry: ContentReason = {"interest": reason.interest, "terms": list(reason.terms)}
    if reason.described:
        entry["described"] = list(reason.described)
    return entry


def _content_entry(match: Match, suggested: bool) -> ContentEntry:
    return {
        "paper": match.paper_key,
        "score": round(match.score, 4),
        "reasons": [reason_entry(r) for r in match.reasons],
        "title_spans": [list(span) for span in match.title_spans],
        "snippet": match.snippet,
        "snippet_spans": [list(span) for span in match.snippet_spans],
        "suggested": suggested,
    }


def content_near_miss_entry(
    *, paper_key: int, score: float, interest: str, terms: Sequence[str], missing: str
) -> ContentEntry:
    """A quiet-day note's entry: a paper that nearly matched ``interest`` but lacks ``missing``."""
    return {
        "paper": paper_key,
        "score": round(score, 4),
        "reasons": [{"interest": interest, "terms": list(terms)}],
        "title_spans": [],
        "snippet": "",
        "snippet_spans": [],
        "suggested": False,
        "near_miss": True,
        "missing": missing,
    }


def content_trending_entry(*, paper_key: int, upvotes: int, rank: int, snippet: str = "") -> ContentEntry:
    """A trending paper's entry: it is there for its upvotes, not for a matched word (``snippet``: the
    abstract's opening, since no matched word picks a passage)."""
    return {
        "paper": paper_key,
        "score": float(upvotes),
        "reasons": [],
        "title_spans": [],
        "snippet": snippet,
        "snippet_spans": [],
        "suggested": False,
        "trending": True,
        "upvotes": upvotes,
        "rank": rank,
    }


def content_split_trending(content: Iterable[ContentEntry]) -> tuple[list[ContentEntry], list[ContentEntry]]:
    """A stored digest's personal entries and its trending ones, each in stored order."""
    personal: list[ContentEntry] = []
    trending: list[ContentEntry] = []
    for entry in content:
        (trending if entry.get("trending") else personal).append(entry)
    return personal, trending


def content_paper_replace(
    content: Sequence[ContentEntry], *, old_id: int, new_id: int, already_sent: bool
) -> list[ContentEntry]:
    """``content`` with paper ``old_id`` swapped for ``new_id`` (a merged duplicate and its survivor),
    or dropped when ``new_id`` is in it already or the subscriber received it already."""
    out: list[ContentEntry] = []
    has_new = any(entry.get("paper") == new_id for entry in content)
    for entry in content:
        if entry.get("paper") != old_id:
            out.append(entry)
        elif not has_new and not already_sent:
            out.append({**entry, "paper": new_id})
            has_new = True
    return out


# What an old digest row keeps: the paper, its score and why it matched (the archive, the feedback
# links and the learned ranking read these); the snippet and the highlight spans go.
PRUNED_KEYS = ("snippet", "snippet_spans", "title_spans")


def content_pruned(content: Sequence[ContentEntry]) -> list[ContentEntry]:
    """``content`` as ``digest.delivery.prune`` keeps it after PAPERBOY_DELIVERY_PRUNE_DAYS."""
    return [cast(ContentEntry, {k: v for k, v in entry.items() if k not in PRUNED_KEYS}) for entry in content]


def content_paper_ids(content: Iterable[ContentEntry]) -> list[int]:
    return [entry["paper"] for entry in content]


def entry_terms(entry: ContentEntry) -> tuple[str, ...]:
    """The matched words of a stored entry, in order, once each."""
    return tuple(dict.fromkeys(term for reason in entry.get("reasons", []) for term in reason.get("terms", [])))


def entry_matched_as(entry: ContentEntry) -> tuple[str, ...]:
    """How the entry's words that the paper has only in another form were found, once each
    ("LLM, as 'large language model'"); older entries without "described" have none."""
    found: dict[str, None] = {}
    for reason in entry.get("reasons", []):
        terms, described = reason.get("terms", []), reason.get("described") or []
        for term, text in zip(terms, described, strict=False):
            if isinstance(text, str) and text != term:
                found[text] = None
    return tuple(found)


def near_miss_text(entry: ContentEntry) -> str:
    if not entry.get("near_miss"):
        return ""
    interest = entry["reasons"][0]["interest"] if entry.get("reasons") else ""
    return f"Almost matched {interest}: missing {entry.get('missing', '')}".strip()


def library_interests(content: Iterable[ContentEntry]) -> tuple[str, ...]:
    """What a subscriber with a library and no keyword interest "follows", for the email's footer."""
    from_library = any(not r.get("terms") for entry in content for r in entry.get("reasons", []))
    return ("papers like your library",) if from_library else ()


def content_is_quiet_note(content: Iterable[ContentEntry]) -> bool:
    entries = list(content)
    return bool(entries) and all(entry.get("near_miss") for entry in entries)


def content_is_trending(content: Iterable[ContentEntry]) -> bool:
    """A trending digest: every paper is there for its upvotes (a keyword digest's section is not)."""
    entries = list(content)
    return bool(entries) and all(entry.get("trending") for entry in entries)


def content_email_kind(content: Iterable[ContentEntry]) -> str:
    entries = list(content)
    if content_is_trending(entries):
        return "trending"
    return "quiet" if content_is_quiet_note(entries) else "digest"
