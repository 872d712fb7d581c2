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

from accounts.tokens import CompactMinter, InvalidToken, compact_token_read, text_field, text_field_read
from digest.links import token_url, token_url_parts

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


def _word_field(word: str) -> str:
    return text_field(word[:WORD_MAX_CHARS]) if word else "-"


def _fields(subscription_id: int, paper_id: int, delivery_id: int | None, action: str, word: str) -> tuple[str, ...]:
    if action not in ACTIONS:
        raise ValueError(f"unknown feedback action {action!r}")
    delivery = "-" if delivery_id is None else str(int(delivery_id))
    return (str(int(subscription_id)), str(int(paper_id)), delivery, action, _word_field(word))


def feedback_token_make(
    *, subscription_id: int, paper_id: int, delivery_id: int | None, action: str, word: str = ""
) -> str:
    # Compact tokens: a digest has several links per card and each must cost microseconds.
    return CompactMinter("feedback").make(_fields(subscription_id, paper_id, delivery_id, action, word))


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


class FeedbackLinkMaker:
    """Signs the feedback links of one email (one subscriber, one delivery), card after card.

    An email carries up to eight links per card, dozens in all, so what they share is worked out once:
    the signing key and issue time (:class:`CompactMinter`), the subscriber and delivery fields, and the
    URL around the token. Each link still gets its own MAC over everything it authorises.
    """

    __slots__ = ("_delivery", "_head", "_minter", "_subscription", "_tail")

    def __init__(self, *, subscription_id: int, delivery_id: int | None) -> None:
        self._minter = CompactMinter("feedback")
        self._subscription = str(int(subscription_id))
        self._delivery = "-" if delivery_id is None else str(int(delivery_id))
        self._head, self._tail = token_url_parts("feedback:act")

    def _url(self, paper: str, action: str, word_field: str) -> str:
        token = self._minter.make((self._subscription, paper, self._delivery, action, word_field))
        return f"{self._head}{token}{self._tail}"

    def links(self, *, paper_id: int, words: Iterable[str] = (), authors: Iterable[str] = ()) -> FeedbackLinks:
        """The links of one card. ``words`` are the matched terms shown on it (each can be muted),
        ``authors`` the paper's authors (the first few can be followed)."""
        paper = str(int(paper_id))
        unique_words = list(dict.fromkeys(w.strip() for w in words if w.strip()))[:MUTE_LINKS_MAX]
        unique_authors = list(dict.fromkeys(a.strip() for a in authors if a.strip()))[:FOLLOW_LINKS_MAX]
        return FeedbackLinks(
            more_url=self._url(paper, "like", "-"),
            less_url=self._url(paper, "dislike", "-"),
            mute_urls=tuple((w, self._url(paper, "mute", _word_field(w))) for w in unique_words),
            follow_urls=tuple((a, self._url(paper, "follow", _word_field(a))) for a in unique_authors),
        )


def feedback_links_make(
    *,
    subscription_id: int,
    delivery_id: int | None,
    paper_id: int,
    words: Iterable[str] = (),
    authors: Iterable[str] = (),
) -> FeedbackLinks:
    """The links of one card (for many cards of one email, use one :class:`FeedbackLinkMaker`)."""
    maker = FeedbackLinkMaker(subscription_id=subscription_id, delivery_id=delivery_id)
    return maker.links(paper_id=paper_id, words=words, authors=authors)


def feedback_links_for_content(
    *, subscription_id: int, delivery_id: int | None, content: Iterable[Mapping[str, Any]], authors: Mapping[int, Any]
) -> dict[int, FeedbackLinks]:
    """Links for every card of a stored digest (``Delivery.content``), keyed by paper id.

    ``authors`` maps paper id to its author list (papers no longer visible are simply absent).
    """
    maker = FeedbackLinkMaker(subscription_id=subscription_id, delivery_id=delivery_id)
    links: dict[int, FeedbackLinks] = {}
    for entry in content:
        paper_id = entry["paper"]
        if paper_id not in authors:
            continue
        words = [term for reason in entry.get("reasons", ()) for term in reason.get("terms", ())]
        links[paper_id] = maker.links(paper_id=paper_id, words=words, authors=authors[paper_id] or ())
    return links
