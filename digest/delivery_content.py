"""What a digest holds, in the one shape stored on a Delivery and turned into an email.

Matching produces :class:`digest.matching.Match` objects; a Delivery stores them as plain JSON
(``content``) so the archive shows a digest exactly as it was emailed; rendering turns that
JSON plus the papers into a :class:`digest.emails.DigestEmail`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from digest.emails import DigestEmail, DigestItem, DigestLinks
from digest.links import digest_links_make
from digest.matching import Match
from digest.models import Delivery, Paper
from digest.selectors.papers import papers_visible_by_id


def content_from_matches(matches: Iterable[Match], *, suggested: bool = False) -> list[dict[str, Any]]:
    return [
        {
            "paper": match.paper_key,
            "score": round(match.score, 4),
            "reasons": [{"interest": r.interest, "terms": list(r.terms)} for r in match.reasons],
            "title_spans": [list(span) for span in match.title_spans],
            "snippet": match.snippet,
            "snippet_spans": [list(span) for span in match.snippet_spans],
            "suggested": suggested,
        }
        for match in matches
    ]


def content_paper_ids(content: Iterable[Mapping[str, Any]]) -> list[int]:
    return [entry["paper"] for entry in content]


def hf_page_url(paper: Paper) -> str:
    if paper.hf_url:
        return paper.hf_url
    return ""


def digest_item_from_entry(entry: Mapping[str, Any], paper: Paper) -> DigestItem:
    reasons = entry.get("reasons", [])
    terms: list[str] = []
    for reason in reasons:
        for term in reason.get("terms", []):
            if term not in terms:
                terms.append(term)
    interests = tuple(dict.fromkeys(reason["interest"] for reason in reasons))
    return DigestItem(
        paper_key=paper.id,
        title=paper.title,
        url=paper.url,
        pdf_url=paper.pdf_url,
        hf_url=hf_page_url(paper),
        authors=tuple(paper.authors or ()),
        categories=tuple(paper.categories or ()),
        popularity=paper.popularity,
        snippet=entry.get("snippet", ""),
        title_spans=tuple(tuple(span) for span in entry.get("title_spans", ())),
        snippet_spans=tuple(tuple(span) for span in entry.get("snippet_spans", ())),
        matched_terms=tuple(terms),
        interests=interests,
        suggested=bool(entry.get("suggested", False)),
    )


def digest_items_build(content: Iterable[Mapping[str, Any]], papers: Mapping[int, Paper]) -> tuple[DigestItem, ...]:
    """Items in stored order, leaving out papers no longer visible (hidden after planning)."""
    return tuple(digest_item_from_entry(entry, papers[entry["paper"]]) for entry in content if entry["paper"] in papers)


def digest_email_build(
    *,
    delivery: Delivery,
    papers: Mapping[int, Paper],
    interests: tuple[str, ...],
    links: DigestLinks,
    frequency: str,
) -> DigestEmail:
    return DigestEmail(
        recipient=delivery.to_email,
        digest_date=delivery.slot,
        items=digest_items_build(delivery.content, papers),
        interests=interests,
        links=links,
        message_id=delivery.message_id,
        frequency=frequency,
    )


def digest_email_from_delivery(delivery: Delivery) -> DigestEmail:
    """One delivery as a DigestEmail (the archive and "view in browser" pages use this)."""
    subscription = delivery.subscription
    papers = papers_visible_by_id(paper_ids=content_paper_ids(delivery.content))
    interests = tuple(subscription.interests.values_list("query", flat=True))
    return digest_email_build(
        delivery=delivery,
        papers=papers,
        interests=interests,
        links=digest_links_make(subscription_id=subscription.id, delivery_id=delivery.id),
        frequency=subscription.frequency,
    )
