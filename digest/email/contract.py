"""The data the email is made from: the delivery code builds these, rendering reads nothing else."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class DigestItem:
    paper_key: int
    title: str
    url: str  # abstract page
    pdf_url: str = ""
    hf_url: str = ""  # Hugging Face paper page, when known
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    popularity: int | None = None  # upvotes
    snippet: str = ""  # plain text, part of the abstract around the best hits
    title_spans: tuple[tuple[int, int], ...] = ()  # [start, end) spans into title to highlight
    snippet_spans: tuple[tuple[int, int], ...] = ()  # into snippet
    matched_terms: tuple[str, ...] = ()
    interests: tuple[str, ...] = ()  # which of the subscriber's interests matched it
    # Words the paper has only in another form, said how: "LLM, as 'large language model'" (issue 17).
    matched_as: tuple[str, ...] = ()
    suggested: bool = False  # "you might also like", labelled as such
    # Per subscriber (signed URLs differ per reader): (label, URL) pairs such as ("More like this", url).
    # Rendering knows nothing of tokens; a pair whose URL isn't http(s) is left out (a dead button misleads).
    actions: tuple[tuple[str, str], ...] = ()
    near_miss: str = ""  # quiet-day note: 'Almost matched "diffusion video": no "video"' (plain text)
    # Trending papers (issue 19): the paper's place on the window's list by upvotes (0: not trending); its
    # card explains it ("▲ 128 upvotes · #2 on Hugging Face today", with ``popularity`` as planned).
    trending_rank: int = 0


@dataclass(frozen=True, slots=True)
class DigestLinks:
    unsubscribe_url: str  # signed one-click URL (RFC 8058 POST target and GET confirm page)
    manage_url: str  # preferences page
    view_url: str  # "view in browser" (signed)


@dataclass(frozen=True, slots=True)
class DigestEmail:
    recipient: str
    digest_date: date
    items: tuple[DigestItem, ...]
    interests: tuple[str, ...]  # all of the subscriber's interests (footer: why you got this)
    links: DigestLinks
    message_id: str  # full "<...@domain>" value, made by the caller, stable per delivery
    frequency: str = "daily"  # or "weekly"
    kind: str = "digest"  # or "quiet": nothing matched today; the items are the nearest misses
    # or "trending": the window's most upvoted papers, no interests (``interests`` then: the chosen categories)
    test: bool = False  # a test digest the subscriber asked for: its subject says so


EMAIL_KINDS = ("digest", "quiet", "trending")
