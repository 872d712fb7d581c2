"""Signed, login-free feedback links for one paper card: more / less like this, mute a word, follow an author.

Each link carries one token that names the subscription, the paper, the delivery it came from, the
action and (for mute/follow) the word, all signed with the "feedback" salt. Changing any of them
breaks the signature, so a link can only ever do the one thing it was minted for, for the one
subscriber it was sent to. Tokens expire after ``FEEDBACK_LINK_MAX_AGE`` (old digests stay
readable in the archive, where signed-in readers get fresh links).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from accounts.tokens import InvalidToken, compact_token_make, compact_token_read, text_field, text_field_read
from digest.links import token_url

FEEDBACK_LINK_MAX_AGE = timedelta(days=60)
ACTIONS = ("like", "dislike", "mute", "follow")
WORD_MAX_CHARS = 100
# A card offers at most this many "mute" and "follow" links; more would drown the paper.
MUTE_LINKS_MAX = 4
FOLLOW_LINKS_MAX = 2


@dataclass(frozen=True, slots=True)
class FeedbackLinks:
    """The feedback URLs of one paper card (absolute, ready for an email)."""

    more_url: str
    less_url: str
    mute_urls: tuple[tuple[str, str], ...] = ()  # (word, url)
    follow_urls: tuple[tuple[str, str], ...] = ()  # (author, url)

    def actions(self) -> tuple[tuple[str, str], ...]:
        """(label, url) pairs in display order, for a card's HTML row or its plain-text lines.

        Labels are plain text (a word comes from a paper): escape them when rendering HTML."""
        return (
            ("More like this", self.more_url),
            ("Less like this", self.less_url),
            *((f"Mute “{word}”", url) for word, url in self.mute_urls),
            *((f"Follow {author}", url) for author, url in self.follow_urls),
        )


@dataclass(frozen=True, slots=True)
class FeedbackAction:
    """What a verified token asks for."""

    subscription_id: int
    paper_id: int
    delivery_id: int | None
    action: str
    word: str = ""


def feedback_token_make(
    *, subscription_id: int, paper_id: int, delivery_id: int | None, action: str, word: str = ""
) -> str:
    # Compact tokens: a digest has several links per card and each must cost microseconds.
    if action not in ACTIONS:
        raise ValueError(f"unknown feedback action {action!r}")
    fields = (
        subscription_id,
        paper_id,
        "-" if delivery_id is None else delivery_id,
        action,
        text_field(word[:WORD_MAX_CHARS]) if word else "-",
    )
    return compact_token_make(purpose="feedback", fields=fields)


def feedback_token_read(*, token: str) -> FeedbackAction:
    """The action a token was minted for; raises InvalidToken if tampered with, expired or malformed."""
    fields = compact_token_read(
        purpose="feedback", token=token, max_age_seconds=int(FEEDBACK_LINK_MAX_AGE.total_seconds())
    )
    if len(fields) != 5:
        raise InvalidToken("This link is not valid.")
    subscription, paper, delivery, action, word = fields
    if action not in ACTIONS or not subscription.isdigit() or not paper.isdigit():
        raise InvalidToken("This link is not valid.")
    if delivery != "-" and not delivery.isdigit():
        raise InvalidToken("This link is not valid.")
    word = "" if word == "-" else text_field_read(word)
    if action in {"mute", "follow"} and not word.strip():
        raise InvalidToken("This link is not valid.")
    delivery_id = None if delivery == "-" else int(delivery)
    return FeedbackAction(int(subscription), int(paper), delivery_id, action, word)


def feedback_url(**kwargs: Any) -> str:
    return token_url("feedback:act", feedback_token_make(**kwargs))


def feedback_links_make(
    *,
    subscription_id: int,
    delivery_id: int | None,
    paper_id: int,
    words: Iterable[str] = (),
    authors: Iterable[str] = (),
) -> FeedbackLinks:
    """The links of one card. ``words`` are the matched terms shown on it (each can be muted),
    ``authors`` the paper's authors (the first few can be followed)."""
    common = {"subscription_id": subscription_id, "paper_id": paper_id, "delivery_id": delivery_id}
    unique_words = list(dict.fromkeys(w.strip() for w in words if w.strip()))[:MUTE_LINKS_MAX]
    unique_authors = list(dict.fromkeys(a.strip() for a in authors if a.strip()))[:FOLLOW_LINKS_MAX]
    return FeedbackLinks(
        more_url=feedback_url(action="like", **common),
        less_url=feedback_url(action="dislike", **common),
        mute_urls=tuple((w, feedback_url(action="mute", word=w, **common)) for w in unique_words),
        follow_urls=tuple((a, feedback_url(action="follow", word=a, **common)) for a in unique_authors),
    )


def feedback_links_for_content(
    *, subscription_id: int, delivery_id: int | None, content: Iterable[Mapping[str, Any]], authors: Mapping[int, Any]
) -> dict[int, FeedbackLinks]:
    """Links for every card of a stored digest (``Delivery.content``), keyed by paper id.

    ``authors`` maps paper id to its author list (papers no longer visible are simply absent).
    """
    links: dict[int, FeedbackLinks] = {}
    for entry in content:
        paper_id = entry["paper"]
        if paper_id not in authors:
            continue
        words = [term for reason in entry.get("reasons", ()) for term in reason.get("terms", ())]
        links[paper_id] = feedback_links_make(
            subscription_id=subscription_id,
            delivery_id=delivery_id,
            paper_id=paper_id,
            words=words,
            authors=authors[paper_id] or (),
        )
    return links
