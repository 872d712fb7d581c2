"""The HTML part (and the "view in browser" page): pre-inlined templates filled per email, kept under
Gmail's size limit.

The reference it must equal byte for byte is ``digest.email.reference`` (premailer on the whole email).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

from markupsafe import Markup

from digest.email import wording
from digest.email.caches import registered
from digest.email.contract import DigestEmail
from digest.email.escape import highlight, lx_text, trusted, utf8_extra
from digest.email.inline import CARDS, Pieces, atoms, section_open, skeleton, slot
from digest.email.view import SNIPPET_MAX_CHARS, View, card_get, view_make

# Gmail clips a message whose HTML exceeds ~102 KB; stay clear of it with a little headroom.
HTML_BUDGET_BYTES = 100_000
# When over budget: shorten snippets step by step, then drop the feedback links, then the snippets, then
# papers (with a "more" link). (snippet limit, keep feedback links) per step; the browser page keeps all.
TRIM_STEPS = ((SNIPPET_MAX_CHARS, True), (240, True), (150, True), (150, False), (0, False))


@registered
@functools.lru_cache(maxsize=65536)
def _highlight_fast(text: str, spans: tuple[tuple[int, int], ...]) -> Markup:
    return highlight(text, spans, lx_text, atoms()["hl"])


def _topics_html(topics: Iterable[str], esc: Callable[[str], str], span_open: str) -> str:
    return ", ".join([f"{span_open}{esc(t)}</span>" for t in topics])


def skeleton_values(view: View, esc: Callable[[str], str], topic_open: str) -> dict[str, object]:
    """Per-email values of the page around the cards: text, URLs, and Markup built from ``esc``-escaped pieces.

    (Not Markup.format: markupsafe escapes quotes, lxml doesn't, and the two paths must agree byte for byte.)
    """
    quiet = view.kind == "quiet"
    trending = view.kind == "trending"
    matched: str | Markup
    if quiet:
        matched = wording.quiet_intro(len(view.cards) + view.more)  # plain text: each path escapes it its own way
    elif trending:
        matched = trusted(wording.trending_intro(_topics_html(view.interests, esc, topic_open)))
    else:
        matched = trusted(wording.matched(_topics_html(view.topics, esc, topic_open))) if view.topics else ""
    why = trusted(
        wording.footer(
            quiet=quiet,
            recipient=esc(view.recipient),
            frequency=esc(view.frequency),
            interests=_topics_html(view.interests, esc, topic_open),
            trending=trending,
        )
    )
    return {
        "page_title": view.page_title,
        "preheader": view.preheader,
        "site_url": view.site_url,
        "date_text": view.date_text,
        "headline": view.headline,
        "matched_html": matched,
        "why_html": why,
        "manage_url": view.manage_url,
        "view_url": view.view_url,
        "unsubscribe_url": view.unsubscribe_url,
        "postal": view.postal,
        "more_text": wording.more(view.more, quiet=quiet),
    }


def _cards_html(view: View) -> list[tuple[str, str, int]]:
    """Each card's HTML around its feedback row (the row's slot; without links the whole card, then ""), and
    the utf8_extra of the two.

    Made once per shared card and kept on it (``html_memo``); the inlined cards missing are made in one batch.
    """
    wanted = [(card, bool(actions.pairs)) for card, actions in zip(view.cards, view.actions, strict=True)]
    try:
        return [card.html_memo[with_actions] for card, with_actions in wanted]
    except KeyError:
        pass
    missing = [(card, with_actions) for card, with_actions in wanted if with_actions not in card.html_memo]
    inlined = CARDS.get_many([card.inline_key(with_actions) for card, with_actions in missing])
    for (card, with_actions), prepared in zip(missing, inlined, strict=True):
        filled = prepared.fill(
            {
                "title": _highlight_fast(card.title, card.title_spans),
                "snippet": _highlight_fast(card.snippet, card.snippet_spans),
                "why": card.why,
                "near_miss": card.near_miss,
                "actions": slot("actions"),  # Markup: goes in as it is, to split on
            }
        )
        before, _, after = filled.partition(slot("actions"))
        card.html_memo[with_actions] = (before, after, utf8_extra(before) + utf8_extra(after))
    return [card.html_memo[with_actions] for card, with_actions in wanted]


def html_fast(view: View) -> tuple[str, int]:
    """The HTML, and its size in UTF-8 bytes summed from its pieces' (encoding ~40 KB to measure it costs
    more than assembling it)."""
    cards = Pieces()
    extra = 0
    for n, ((before, after, card_extra), actions) in enumerate(zip(_cards_html(view), view.actions, strict=True)):
        if n:
            cards.append("\n")  # what the template's loop puts between cards
        if n == view.section_at:  # the reference renders it as one more item of the loop
            cards += (section_open(), lx_text(view.section_title), "</h2>\n")
        if actions.pairs:
            cards += (before, actions.html, after)
            extra += card_extra + actions.html_extra
        else:
            cards.append(before)
            extra += card_extra
    values = skeleton_values(view, lx_text, atoms()["topic"])
    values["cards"] = cards
    prepared = skeleton(view.for_browser, view.more > 0, bool(view.cards))
    html = prepared.fill(values)
    return html, len(html) + extra + prepared.utf8_extra(values)


def html_budgeted(
    email: DigestEmail,
    *,
    for_browser: bool,
    render: Callable[[View], tuple[str, int]],
    first: View | None = None,
) -> str:
    """Render (``render``: the HTML and its UTF-8 size); if Gmail would clip it, shorten snippets, drop
    feedback links, leave papers out."""
    if for_browser:  # a web page has no size limit
        return render(view_make(email, for_browser=True))[0]
    html, size = render(first or view_make(email))
    if size <= HTML_BUDGET_BYTES:
        return html
    for limit, with_actions in TRIM_STEPS[1:]:
        html, size = render(view_make(email, snippet_limit=limit, with_actions=with_actions))
        if size <= HTML_BUDGET_BYTES:
            return html
    max_cards = len(email.items)
    while max_cards > 1:
        max_cards = max(1, int(max_cards * 0.8))
        html, size = render(view_make(email, snippet_limit=0, max_cards=max_cards, with_actions=False))
        if size <= HTML_BUDGET_BYTES:
            break
    return html


def digest_html_render(email: DigestEmail, *, for_browser: bool = False) -> str:
    """The HTML part (or the "view in browser" page), CSS inlined, from the per-template/per-card caches."""
    return html_budgeted(email, for_browser=for_browser, render=html_fast)


def email_cards_warm(emails: Iterable[DigestEmail]) -> int:
    """Inline every card these emails need, in a few premailer runs; returns how many were new.

    Optional: rendering inlines missing cards itself (per email). A worker about to send a chunk can call
    this first so the day's papers cost one premailer run per 50 cards instead of one per email's batch.
    """
    # Only the cards' keys are needed: no view (its per-subscriber feedback links are most of its cost).
    # A card whose links all turn out unusable has another key; rendering inlines that one itself.
    keys = [
        card_get(item, email.digest_date, SNIPPET_MAX_CHARS, email.frequency == "weekly").inline_key(bool(item.actions))
        for email in emails
        for item in email.items
    ]
    before = CARDS.misses
    CARDS.get_many(keys)
    return CARDS.misses - before
