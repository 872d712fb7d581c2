"""The plain-text part: a good email on its own, wrapped at 72 columns, papers numbered.

Each paper is a few lines -- title, authors, categories, the snippet, why it matched -- and then one line
of its links and one of its feedback actions, each a label with a reference number: ``Abstract [1] · PDF
[2]``, ``More like this [4] · Less like this [5] · Mute "diffusion" [6]``. The URLs themselves are
gathered at the end, one per line, numbered (the convention of plain-text mail since Usenet), so the papers
read as text rather than as a wall of signed links. Made from the same view and the same sentences
(``digest.email.wording``) as the HTML part.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from digest.email import wording
from digest.email.actions import Actions
from digest.email.caches import registered
from digest.email.contract import DigestEmail
from digest.email.inline import Prepared, env, slot
from digest.email.view import Card, Paper, View, view_make
from digest.email.wrap import TEXT_WIDTH, link_line, wrap

_TEXT_CARD_SLOTS = (
    "title_block",
    "authors_block",
    "meta_block",
    "snippet_block",
    "why_block",
    "near_miss_block",
    "refs_block",
)


@registered
@functools.cache
def _text_card_prepared(present: frozenset[str]) -> Prepared:
    """The plain-text card with the blocks in ``present`` as slots (the title is always there)."""
    values = {name: slot(name) if name == "title_block" or name in present else "" for name in _TEXT_CARD_SLOTS}
    text = env().get_template("_card.txt").render(values)
    return Prepared(text, [n for n in _TEXT_CARD_SLOTS if slot(n) in text], html=False)


@registered
@functools.lru_cache(maxsize=8192)
def _text_paper(paper: Paper, indent: str) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    """The parts of a plain-text paper that don't depend on the subscriber: authors, meta line, links."""
    links = tuple(
        (label, url)
        for label, url in (
            (wording.ABSTRACT, paper.url),
            (wording.PDF, paper.pdf_url),
            (wording.HUGGING_FACE, paper.hf_url),
        )
        if url
    )
    meta = wording.SEP.join(part for part in (wording.SUGGESTED if paper.suggested else "", paper.meta) if part)
    authors = wrap(paper.authors, indent, indent) if paper.authors else ""
    return authors, wrap(meta, indent, indent) if meta else "", links


def _text_card_head(card: Card, digits: int, has_refs: bool) -> str:
    """A plain-text paper up to its reference lines (a slot at the end when it has links), numbered with
    ``digits`` zeros, which the caller overwrites with the number: the wrapping depends on the number's width
    only, so one card serves papers 1-9 and another 10-99. Kept on the card."""
    indent = " " * (digits + 2)
    authors, meta, _ = _text_paper(card.paper, indent)
    blocks: dict[str, object] = {
        "title_block": wrap(card.title, "0" * digits + ". ", indent),
        "authors_block": authors,
        "meta_block": meta,
        "snippet_block": wrap(card.snippet, indent, indent) if card.snippet else "",
        "why_block": wrap(card.why, indent, indent) if card.why else "",
        "near_miss_block": wrap(card.near_miss, indent, indent) if card.near_miss else "",
        "refs_block": slot("refs_block") if has_refs else "",
    }
    prepared = _text_card_prepared(frozenset(name for name, block in blocks.items() if block))
    return prepared.fill(blocks).partition(slot("refs_block"))[0].rstrip("\n" if not has_refs else "")


def refs_line(items: Iterable[str], indent: str, width: int = TEXT_WIDTH) -> str:
    """``items`` joined by " · ", wrapped between items (never inside one) at ``width``."""
    lines: list[str] = []
    line = ""
    for item in items:
        if line and len(indent) + len(line) + len(wording.SEP) + len(item) > width:
            lines.append(indent + line)
            line = item
        else:
            line = f"{line}{wording.SEP}{item}" if line else item
    if line:
        lines.append(indent + line)
    return "\n".join(lines)


class _References:
    """The email's URLs in order of appearance; each card's labels carry their numbers."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def labelled(self, pairs: Iterable[tuple[str, str]]) -> list[str]:
        out = []
        for label, url in pairs:
            self.urls.append(url)
            out.append(f"{label} [{len(self.urls)}]")
        return out

    def text(self) -> str:
        return "\n".join(f"[{n}] {url}" for n, url in enumerate(self.urls, start=1))


def _text_card(card: Card, number: int, actions: Actions, refs: _References) -> str:
    """One numbered paper in the plain-text part (the caller puts one blank line between papers)."""
    digits = len(str(number))
    indent = " " * (digits + 2)
    links = _text_paper(card.paper, indent)[2]
    has_refs = bool(links or actions.pairs)
    key = (digits, has_refs)
    head = card.text_memo.get(key)
    if head is None:
        head = card.text_memo[key] = _text_card_head(card, digits, has_refs)
    numbered = f"{number}{head[digits:]}"
    if not has_refs:
        return numbered
    lines = [refs_line(refs.labelled(links), indent)] if links else []
    if actions.pairs:
        lines.append(refs_line(refs.labelled(actions.pairs), indent))
    return numbered + "\n".join(lines)


_TEXT_SLOTS = ("date_text", "headline", "matched_text", "cards", "references", "why_text", "links", "postal")


@registered
@functools.cache
def _text_skeleton(has_matched: bool, has_references: bool) -> Prepared:
    values = {name: slot(name) for name in _TEXT_SLOTS}
    text = env().get_template("digest.txt").render(has_matched=has_matched, has_references=has_references, **values)
    return Prepared(text + "\n", [n for n in _TEXT_SLOTS if slot(n) in text], html=False)


def text_fast(view: View) -> str:
    quiet = view.kind == "quiet"
    trending = view.kind == "trending"
    if quiet:
        matched = wording.quiet_intro(len(view.cards) + view.more)
    elif trending:
        matched = wording.trending_intro(", ".join(view.interests))
    else:
        matched = wording.matched(", ".join(view.topics)) if view.topics else ""
    why = wording.footer(
        quiet=quiet,
        recipient=view.recipient,
        frequency=view.frequency,
        interests=", ".join(view.interests),
        trending=trending,
    )
    links = "\n".join(
        [
            link_line(wording.MANAGE, view.manage_url),
            link_line(wording.VIEW_IN_BROWSER, view.view_url),
            link_line(wording.UNSUBSCRIBE, view.unsubscribe_url),
        ]
    )
    refs = _References()
    cards = "\n\n".join(
        [
            _section_text(view, n) + _text_card(card, n, actions, refs)
            for n, (card, actions) in enumerate(zip(view.cards, view.actions, strict=True), start=1)
        ]
    )
    return _text_skeleton(bool(matched), bool(refs.urls)).fill(
        {
            "date_text": view.date_text,
            "headline": view.headline,
            "matched_text": wrap(matched),
            "cards": cards,
            "references": refs.text(),
            "why_text": wrap(why),
            "links": links,
            "postal": wrap(view.postal),
        }
    )


def _section_text(view: View, number: int) -> str:
    """The "Trending today" heading before the first trending paper of a keyword digest (else nothing)."""
    if number - 1 != view.section_at:
        return ""
    return f"{view.section_title}\n{'-' * len(view.section_title)}\n\n"


def digest_text_render(email: DigestEmail) -> str:
    """The plain-text part on its own (the message builder makes it from the view it shares with the HTML)."""
    return text_fast(view_make(email))
