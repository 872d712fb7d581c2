"""What a digest holds, in the one shape stored on a Delivery and turned into an email.

Matching produces :class:`digest.matching.Match` objects; a Delivery stores them as plain JSON
(``content``) so the archive shows a digest exactly as it was emailed; rendering turns that
JSON plus the papers into a :class:`digest.emails.DigestEmail`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from digest.emails import DigestEmail, DigestItem, DigestLinks
from digest.feedback.links import FeedbackLinkMaker, feedback_links_make
from digest.links import digest_links_make
from digest.matching import Match
from digest.models import Delivery, Paper
from digest.selectors.papers import papers_visible_by_id

ContentMemo = dict[tuple, dict[str, Any]]


def content_from_matches(
    matches: Iterable[Match], *, suggested: bool = False, memo: ContentMemo | None = None
) -> list[dict[str, Any]]:
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


def _content_entry(match: Match, suggested: bool) -> dict[str, Any]:
    return {
        "paper": match.paper_key,
        "score": round(match.score, 4),
        "reasons": [{"interest": r.interest, "terms": list(r.terms)} for r in match.reasons],
        "title_spans": [list(span) for span in match.title_spans],
        "snippet": match.snippet,
        "snippet_spans": [list(span) for span in match.snippet_spans],
        "suggested": suggested,
    }


def content_paper_ids(content: Iterable[Mapping[str, Any]]) -> list[int]:
    return [entry["paper"] for entry in content]


def hf_page_url(paper: Paper) -> str:
    return paper.hf_url or ""


def entry_terms(entry: Mapping[str, Any]) -> tuple[str, ...]:
    """The matched words of a stored entry, in order, once each."""
    return tuple(dict.fromkeys(term for reason in entry.get("reasons", []) for term in reason.get("terms", [])))


def near_miss_text(entry: Mapping[str, Any]) -> str:
    if not entry.get("near_miss"):
        return ""
    interest = entry["reasons"][0]["interest"] if entry.get("reasons") else ""
    return f"Almost matched {interest}: missing {entry.get('missing', '')}".strip()


def digest_item_from_entry(
    entry: Mapping[str, Any],
    paper: Paper,
    *,
    actions: tuple[tuple[str, str], ...] = (),
    terms: tuple[str, ...] | None = None,
) -> DigestItem:
    """``terms``: the entry's matched words when the caller already has them (:func:`entry_terms`)."""
    reasons = entry.get("reasons", [])
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
        title_spans=tuple(map(tuple, entry.get("title_spans", ()))),
        snippet_spans=tuple(map(tuple, entry.get("snippet_spans", ()))),
        matched_terms=entry_terms(entry) if terms is None else terms,
        interests=tuple(dict.fromkeys([reason["interest"] for reason in reasons])),
        suggested=bool(entry.get("suggested", False)),
        actions=actions,
        near_miss=near_miss_text(entry),
    )


def feedback_actions(*, delivery: Delivery, entry: Mapping[str, Any], paper: Paper) -> tuple[tuple[str, str], ...]:
    """Signed "more / less like this", "mute <word>" and "follow <author>" links for one card."""
    links = feedback_links_make(
        subscription_id=delivery.subscription_id,
        delivery_id=delivery.id,
        paper_id=paper.id,
        words=entry_terms(entry),
        authors=paper.authors or (),
    )
    return links.actions()


def digest_items_build(
    content: Iterable[Mapping[str, Any]], papers: Mapping[int, Paper], *, delivery: Delivery | None = None
) -> tuple[DigestItem, ...]:
    """Items in stored order, leaving out papers no longer visible (hidden after planning).

    With ``delivery`` each card carries its signed feedback links (one signer for the whole email)."""
    maker = FeedbackLinkMaker(subscription_id=delivery.subscription_id, delivery_id=delivery.id) if delivery else None
    items = []
    for entry in content:
        paper = papers.get(entry["paper"])
        if paper is None:
            continue
        terms = entry_terms(entry)
        actions = maker.actions(paper_id=paper.id, words=terms, authors=paper.authors or ()) if maker else ()
        items.append(digest_item_from_entry(entry, paper, actions=actions, terms=terms))
    return tuple(items)


def library_interests(content: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """What a subscriber with a library and no keyword interest "follows", for the email's footer."""
    from_library = any(not r.get("terms") for entry in content for r in entry.get("reasons", []))
    return ("papers like your library",) if from_library else ()


def content_is_quiet_note(content: Iterable[Mapping[str, Any]]) -> bool:
    entries = list(content)
    return bool(entries) and all(entry.get("near_miss") for entry in entries)


def digest_email_build(
    *,
    delivery: Delivery,
    papers: Mapping[int, Paper],
    interests: tuple[str, ...],
    links: DigestLinks | None = None,
    frequency: str | None = None,
) -> DigestEmail:
    """The email of one delivery; its signed links and the subscriber's frequency unless given."""
    return DigestEmail(
        recipient=delivery.to_email,
        digest_date=delivery.slot,
        items=digest_items_build(delivery.content, papers, delivery=delivery),
        interests=interests or library_interests(delivery.content),
        links=links or digest_links_make(subscription_id=delivery.subscription_id, delivery_id=delivery.id),
        message_id=delivery.message_id,
        frequency=frequency or delivery.subscription.frequency,
        kind="quiet" if content_is_quiet_note(delivery.content) else "digest",
    )


def digest_email_from_delivery(delivery: Delivery) -> DigestEmail:
    """One delivery as a DigestEmail (the archive and "view in browser" pages use this)."""
    subscription = delivery.subscription
    papers = papers_visible_by_id(paper_ids=content_paper_ids(delivery.content))
    interests = tuple(subscription.interests.values_list("query", flat=True))
    return digest_email_build(delivery=delivery, papers=papers, interests=interests)
