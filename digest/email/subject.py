"""The subject line: count and top interests, one line, no control characters, under 78 characters.

Its words are in ``templates/email/digest_subject.txt``, ``quiet_subject.txt`` and ``trending_subject.txt``.
"""

from __future__ import annotations

import functools

from digest.email import wording
from digest.email.caches import registered
from digest.email.clean import display_text
from digest.email.contract import DigestEmail
from digest.email.inline import env
from digest.email.view import View, view_make
from digest.matching.phrasing import query_phrase

SUBJECT_MAX_CHARS = 77  # RFC 5322 recommends < 78 characters per header line


@registered
@functools.lru_cache(maxsize=64)
def _quiet_subject_make(count: int, frequency: str) -> str:
    """ "No new matches today — 3 near misses": short and fixed, no feed text at all."""
    subject = env().get_template("quiet_subject.txt").render(count=count, frequency=frequency)
    return display_text(subject)[:SUBJECT_MAX_CHARS]


@registered
@functools.lru_cache(maxsize=4096)
def _subject_make(count: int, topics: tuple[str, ...], frequency: str, test: bool = False) -> str:
    template = env().get_template("digest_subject.txt")
    topics = tuple(query_phrase(topic) for topic in topics)  # words, not query syntax, in an inbox list

    def render(shown: str) -> str:
        return display_text(template.render(count=count, topics=shown, frequency=frequency, test=test))

    for k in range(len(topics), 0, -1):
        shown = ", ".join(topics[:k])
        if k < len(topics):
            shown = wording.topics_more(shown, len(topics) - k)
        subject = render(shown)
        if len(subject) <= SUBJECT_MAX_CHARS:
            return subject
    subject = render(topics[0] if topics else "")
    return subject if len(subject) <= SUBJECT_MAX_CHARS else subject[: SUBJECT_MAX_CHARS - 1].rstrip() + "…"


@registered
@functools.lru_cache(maxsize=256)
def _trending_subject_make(count: int, categories: tuple[str, ...], frequency: str, test: bool = False) -> str:
    """ "Trending today: the 5 most upvoted papers in cs.CV": says it is the trending digest."""
    template = env().get_template("trending_subject.txt")

    def render(topics: str) -> str:
        return display_text(template.render(count=count, topics=topics, frequency=frequency, test=test))

    subject = render(", ".join(categories))
    if len(subject) > SUBJECT_MAX_CHARS:  # too many categories to list: the sentence without them
        subject = render("")
    return subject[:SUBJECT_MAX_CHARS]


def subject_fast(view: View, count: int, *, test: bool = False) -> str:
    if view.own_count >= 0:  # a "Trending today" section is extra: the subject counts the reader's matches
        count = view.own_count
    if view.kind == "trending":
        return _trending_subject_make(count, view.interests, view.frequency, test)
    if view.kind == "quiet":
        return _quiet_subject_make(count, view.frequency)
    return _subject_make(count, view.topics or view.interests, view.frequency, test)


def digest_subject_render(email: DigestEmail) -> str:
    """The subject on its own (the message builder makes it from the view it shares with both parts)."""
    # No feedback links: the subject never shows them, and rendering them is most of a view's cost.
    return subject_fast(view_make(email, with_actions=False), len(email.items), test=email.test)
