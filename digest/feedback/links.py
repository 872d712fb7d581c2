"""Signed, login-free feedback links for one paper card: more / less like this, mute a word, follow an author.

Each link carries one token that names the subscription, the paper, the delivery it came from, the
action and (for mute/follow) the word, all signed with the "feedback" salt. Changing any of them
breaks the signature, so a link can only ever do the one thing it was minted for, for the one
subscriber it was sent to. Tokens expire after ``FEEDBACK_LINK_MAX_AGE`` (old digests stay
readable in the archive, where signed-in readers get fresh links).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from accounts.tokens import CompactMinter, InvalidToken, compact_token_read, text_field, text_field_read
from digest.links import token_url_parts
from digest.selectors.subscriptions import subscription_address

FEEDBACK_LINK_MAX_AGE = timedelta(days=60)
ACTIONS = ("like", "dislike", "mute", "follow")
WORD_MAX_CHARS = 100
# A card offers at most this many "mute" and "follow" links; more would drown the paper.
MUTE_LINKS_MAX = 4
FOLLOW_LINKS_MAX = 2


MORE_LABEL = "More like this"
LESS_LABEL = "Less like this"


def _mute_label(word: str) -> str:
    return f"Mute “{word}”"


def _follow_label(author: str) -> str:
    return f"Follow {author}"


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
            (MORE_LABEL, self.more_url),
            (LESS_LABEL, self.less_url),
            *((_mute_label(word), url) for word, url in self.mute_urls),
            *((_follow_label(author), url) for author, url in self.follow_urls),
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


def _address(subscription_id: int, address: str | None) -> str:
    if address is not None:
        return address
    return subscription_address(subscription_id) or ""


def feedback_token_read(*, token: str) -> FeedbackAction:
    """The action a token was minted for; raises InvalidToken if tampered with, expired, malformed or
    made for another address than the subscription's."""
    fields = compact_token_read(
        purpose="feedback",
        token=token,
        max_age_seconds=int(FEEDBACK_LINK_MAX_AGE.total_seconds()),
        address_of=subscription_address,
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


class FeedbackLinkMaker:
    """Signs the feedback links of one email (one subscriber, one delivery), card after card.

    An email carries up to eight links per card, dozens in all, so what they share is worked out once:
    the signing key and issue time (:class:`CompactMinter`), the subscriber and delivery fields, the URL
    around the token, and (cached across emails) each card's labels and word fields. Each link still
    gets its own MAC over everything it authorises.
    """

    __slots__ = ("_delivery", "_head", "_minter", "_subscription", "_tail")

    def __init__(
        self,
        *,
        subscription_id: int,
        delivery_id: int | None,
        address: str | None = None,
        issued_at: float | None = None,
    ) -> None:
        address = _address(subscription_id, address)
        self._minter = CompactMinter("feedback", address=address, issued_at=issued_at)
        self._subscription = str(int(subscription_id))
        self._delivery = "-" if delivery_id is None else str(int(delivery_id))
        self._head, self._tail = token_url_parts("feedback:act")

    def actions(
        self, *, paper_id: int, words: Iterable[str] = (), authors: Iterable[str] = ()
    ) -> tuple[tuple[str, str], ...]:
        """(label, URL) pairs of one card in display order: more, less, mute each word, follow each author.

        ``words`` are the matched terms shown on it, ``authors`` the paper's (the first few of each)."""
        # The token's fields (subscription.paper.delivery.action.word), joined here: numbers, an action
        # name, text_field() output or "-" -- none can hold a '.', which is what lets them skip
        # CompactMinter.make's check.
        fields = f"{self._subscription}.{int(paper_id)}.{self._delivery}."
        sign, head, tail = self._minter.sign, self._head, self._tail
        return tuple(
            [(label, f"{head}{sign(fields + rest)}{tail}") for label, rest in _card_links(tuple(words), tuple(authors))]
        )

    def links(self, *, paper_id: int, words: Iterable[str] = (), authors: Iterable[str] = ()) -> FeedbackLinks:
        """The same links as a :class:`FeedbackLinks`."""
        words, authors = _shown(tuple(words), MUTE_LINKS_MAX), _shown(tuple(authors), FOLLOW_LINKS_MAX)
        more, less, *rest = [url for _label, url in self.actions(paper_id=paper_id, words=words, authors=authors)]
        return FeedbackLinks(
            more_url=more,
            less_url=less,
            mute_urls=tuple(zip(words, rest[: len(words)], strict=True)),
            follow_urls=tuple(zip(authors, rest[len(words) :], strict=True)),
        )


@functools.lru_cache(maxsize=8192)
def _card_links(words: tuple[str, ...], authors: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """(label, the token's action and word fields) per link of a card. Cached: words and authors recur."""
    words, authors = _shown(words, MUTE_LINKS_MAX), _shown(authors, FOLLOW_LINKS_MAX)
    return (
        (MORE_LABEL, "like.-"),
        (LESS_LABEL, "dislike.-"),
        *((_mute_label(word), f"mute.{_word_field(word)}") for word in words),
        *((_follow_label(author), f"follow.{_word_field(author)}") for author in authors),
    )


def _shown(values: tuple[str, ...], limit: int) -> tuple[str, ...]:
    """The first ``limit`` distinct non-blank values, stripped."""
    return tuple(dict.fromkeys([v for v in map(str.strip, values) if v]))[:limit]


def feedback_links_make(
    *,
    subscription_id: int,
    delivery_id: int | None,
    paper_id: int,
    words: Iterable[str] = (),
    authors: Iterable[str] = (),
    address: str | None = None,
) -> FeedbackLinks:
    """The links of one card (for many cards of one email, use one :class:`FeedbackLinkMaker`)."""
    maker = FeedbackLinkMaker(subscription_id=subscription_id, delivery_id=delivery_id, address=address)
    return maker.links(paper_id=paper_id, words=words, authors=authors)
