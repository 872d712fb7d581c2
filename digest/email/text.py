"""The plain-text part: a good email on its own, wrapped at 72 columns, papers numbered, links listed.

Made from the same view and the same sentences (``digest.email.wording``) as the HTML part.
"""

from __future__ import annotations

import functools

from digest.email import wording
from digest.email.actions import Actions
from digest.email.caches import registered
from digest.email.contract import DigestEmail
from digest.email.inline import Prepared, env, slot
from digest.email.view import Card, Paper, View, view_make
from digest.email.wrap import link_line, wrap

_TEXT_CARD_SLOTS = (
    "title_block",
    "authors_block",
    "meta_block",
    "snippet_block",
    "why_block",
    "near_miss_block",
    "links_block",
    "actions_block",
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
def _text_paper(paper: Paper, indent: str) -> tuple[str, str, str]:
    """The parts of a plain-text paper that don't depend on the subscriber: authors, meta line, links."""
    links = [link_line(wording.ABSTRACT, paper.url, indent)] if paper.url else []
    if paper.pdf_url:
        links.append(link_line(wording.PDF, paper.pdf_url, indent))
    if paper.hf_url:
        links.append(link_line(wording.HUGGING_FACE, paper.hf_url, indent))
    meta = wording.SEP.join(part for part in (wording.SUGGESTED if paper.suggested else "", paper.meta) if part)
    authors = wrap(paper.authors, indent, indent) if paper.authors else ""
    return authors, wrap(meta, indent, indent) if meta else "", "\n".join(links)


def _text_card_blocks(card: Card, digits: int, with_actions: bool) -> tuple[str, str]:
    """A plain-text paper around its feedback lines (a slot; without links the whole paper, then "").

    Numbered with ``digits`` zeros, which the caller overwrites with the number: the wrapping depends on the
    number's width only, so one card serves papers 1-9 and another 10-99. Kept on the card.
    """
    indent = " " * (digits + 2)
    authors, meta, links = _text_paper(card.paper, indent)
    blocks: dict[str, object] = {
        "title_block": wrap(card.title, "0" * digits + ". ", indent),
        "authors_block": authors,
        "meta_block": meta,
        "snippet_block": wrap(card.snippet, indent, indent) if card.snippet else "",
        "why_block": wrap(card.why, indent, indent) if card.why else "",
        "near_miss_block": wrap(card.near_miss, indent, indent) if card.near_miss else "",
        "links_block": links,
        "actions_block": slot("actions_block") if with_actions else "",
    }
    prepared = _text_card_prepared(frozenset(name for name, block in blocks.items() if block))
    before, _, after = prepared.fill(blocks).partition(slot("actions_block"))
    return before if with_actions else before.rstrip("\n"), after.rstrip("\n")


def _text_card(card: Card, number: int, actions: Actions) -> str:
    """One numbered paper in the plain-text part (the caller puts one blank line between papers)."""
    digits = len(str(number))
    key = (digits, bool(actions.pairs))
    blocks = card.text_memo.get(key)
    if blocks is None:
        blocks = card.text_memo[key] = _text_card_blocks(card, digits, bool(actions.pairs))
    numbered = f"{number}{blocks[0][digits:]}"
    return f"{numbered}{actions.text}{blocks[1]}" if actions.pairs else numbered


_TEXT_SLOTS = ("date_text", "headline", "matched_text", "cards", "why_text", "links", "postal")


@registered
@functools.cache
def _text_skeleton(has_matched: bool) -> Prepared:
    values = {name: slot(name) for name in _TEXT_SLOTS}
    text = env().get_template("digest.txt").render(has_matched=has_matched, **values) + "\n"
    return Prepared(text, [n for n in _TEXT_SLOTS if slot(n) in text], html=False)


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
    return _text_skeleton(bool(matched)).fill(
        {
            "date_text": view.date_text,
            "headline": view.headline,
            "matched_text": wrap(matched),
            "cards": "\n\n".join(
                [
                    _section_text(view, n) + _text_card(card, n, actions)
                    for n, (card, actions) in enumerate(zip(view.cards, view.actions, strict=True), start=1)
                ]
            ),
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
