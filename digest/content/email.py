"""A stored digest as the email it is (``digest.email.DigestEmail``): its items, the papers still
visible, its signed links; the archive, "view in browser" and sending all build it here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import cast

from digest.content.entries import (
    ContentEntry,
    Spans,
    content_email_kind,
    content_paper_ids,
    entry_matched_as,
    entry_terms,
    library_interests,
    near_miss_text,
)
from digest.email import DigestEmail, DigestItem, DigestLinks
from digest.feedback.links import FeedbackLinkMaker
from digest.links import digest_links_make
from digest.models import Delivery, Paper
from digest.selectors.papers import papers_visible_by_id


def hf_page_url(paper: Paper) -> str:
    return paper.hf_url or ""


def digest_item_from_entry(
    entry: ContentEntry,
    paper: Paper,
    *,
    actions: tuple[tuple[str, str], ...] = (),
    terms: tuple[str, ...] | None = None,
) -> DigestItem:
    """``terms``: the entry's matched words when the caller already has them (:func:`entry_terms`)."""
    reasons = entry.get("reasons", [])
    trending = bool(entry.get("trending"))
    return DigestItem(
        paper_key=paper.id,
        title=paper.title,
        url=paper.url,
        pdf_url=paper.pdf_url,
        hf_url=hf_page_url(paper),
        authors=tuple(paper.authors or ()),
        categories=tuple(paper.categories or ()),
        # A trending card shows the upvotes that ranked it when planned, so its "#2" and its count agree.
        popularity=entry.get("upvotes", paper.popularity) if trending else paper.popularity,
        snippet=entry.get("snippet", ""),
        title_spans=cast(Spans, tuple(map(tuple, entry.get("title_spans", ())))),
        snippet_spans=cast(Spans, tuple(map(tuple, entry.get("snippet_spans", ())))),
        matched_terms=entry_terms(entry) if terms is None else terms,
        interests=tuple(dict.fromkeys([reason["interest"] for reason in reasons])),
        matched_as=entry_matched_as(entry),
        suggested=bool(entry.get("suggested", False)),
        actions=actions,
        near_miss=near_miss_text(entry),
        trending_rank=int(entry.get("rank", 0)) if trending else 0,
    )


def digest_items_build(
    content: Iterable[ContentEntry],
    papers: Mapping[int, Paper],
    *,
    delivery: Delivery | None = None,
    links_issued_at: float | None = None,
) -> tuple[DigestItem, ...]:
    """Items in stored order, leaving out papers no longer visible (hidden after planning).

    With ``delivery`` each card carries its signed feedback links (one signer for the whole email),
    issued now or at ``links_issued_at``."""
    maker = (
        FeedbackLinkMaker(
            subscription_id=delivery.subscription_id,
            delivery_id=delivery.id,
            address=delivery.to_email,
            issued_at=links_issued_at,
        )
        if delivery
        else None
    )
    items = []
    for entry in content:
        paper = papers.get(entry["paper"])
        if paper is None:
            continue
        terms = entry_terms(entry)
        actions = maker.actions(paper_id=paper.id, words=terms, authors=paper.authors or ()) if maker else ()
        items.append(digest_item_from_entry(entry, paper, actions=actions, terms=terms))
    return tuple(items)


def digest_email_build(
    *,
    delivery: Delivery,
    papers: Mapping[int, Paper],
    interests: tuple[str, ...],
    links: DigestLinks | None = None,
    frequency: str | None = None,
    links_issued_at: float | None = None,
) -> DigestEmail:
    """The email of one delivery; its signed links and the subscriber's frequency unless given.

    A trending digest names the subscriber's arXiv categories where a keyword digest names interests."""
    kind = content_email_kind(delivery.content)
    if kind == "trending":
        interests = tuple(delivery.subscription.trending_categories or ())
    return DigestEmail(
        recipient=delivery.to_email,
        digest_date=delivery.slot,
        items=digest_items_build(delivery.content, papers, delivery=delivery, links_issued_at=links_issued_at),
        interests=interests or library_interests(delivery.content),
        links=links
        or digest_links_make(
            subscription_id=delivery.subscription_id, delivery_id=delivery.id, address=delivery.to_email
        ),
        message_id=delivery.message_id,
        frequency=frequency or delivery.subscription.frequency,
        kind=kind,
        test=delivery.kind == Delivery.Kind.TEST,
    )


def digest_email_from_delivery(delivery: Delivery, *, as_sent: bool = False) -> DigestEmail:
    """One delivery as a DigestEmail (the archive and "view in browser" pages use this).

    ``as_sent``: the feedback links are signed as of the send time, so they expire when the email's
    own do (the anonymous "view in browser" page must not mint fresh ones: security review L5)."""
    subscription = delivery.subscription
    papers = papers_visible_by_id(paper_ids=content_paper_ids(delivery.content))
    interests = tuple(subscription.interests.values_list("query", flat=True))
    issued = delivery.sent_at.timestamp() if as_sent and delivery.sent_at else None
    return digest_email_build(delivery=delivery, papers=papers, interests=interests, links_issued_at=issued)
