"""A card's feedback links ("More like this", "Mute ..."): cleaned, and rendered for both parts in one pass.

They are the one per-subscriber part of a card (each URL is signed for its reader), and an email has dozens,
so this is written for speed: the HTML is the pre-inlined link (``digest.email.inline``) filled by hand, and
the text lines are :func:`digest.email.wrap.link_line` inline.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import NamedTuple

from digest.email.caches import registered
from digest.email.clean import URL_ALREADY_SAFE, display_text, href_encode
from digest.email.escape import lx_text, utf8_extra
from digest.email.inline import action_prepared, atoms
from digest.email.wrap import TEXT_WIDTH


class Actions(NamedTuple):
    """One card's feedback links, cleaned and rendered for both parts."""

    pairs: tuple[tuple[str, str], ...]  # (label, URL): non-empty label, absolute http(s) URL
    html: str  # the row, from the inlined link (the reference path renders ``pairs`` with Jinja2 instead)
    html_extra: int  # utf8_extra(html), for the size budget
    text: str  # the plain-text lines, indented for the card's number


NO_ACTIONS = Actions((), "", 0, "")


@registered
@functools.lru_cache(maxsize=4096)
def _action_label(label: str) -> tuple[str, str, int]:
    """A label cleaned; the inlined link from the end of its URL on, the label escaped as lxml writes text;
    and the utf8_extra of the whole link but its URL (which is ASCII once encoded: href_encode). Labels recur
    across subscribers ("More like this", 'Mute "diffusion"'); URLs never do."""
    clean = display_text(label)
    head, middle, tail = action_prepared()
    html = f"{middle}{lx_text(clean)}{tail}"
    return clean, html, utf8_extra(head) + utf8_extra(html)


def actions_make(actions: Iterable[tuple[str, str]], number: int) -> Actions:
    """A pair whose label is empty once cleaned or whose URL isn't absolute http(s) is left out.

    Written for speed (an email has dozens of links): link_line and href_encode's fast path are inline."""
    head = action_prepared()[0]
    indent = " " * (len(str(number)) + 2)
    pairs, html, text = [], [], []
    extra = 0
    for label, url in actions:
        label, label_html, link_extra = _action_label(label)
        if not URL_ALREADY_SAFE.fullmatch(url):
            url = href_encode(url)
        if label and url:
            pairs.append((label, url))
            # An encoded URL has no '<', '>' or '"' left (href_encode), so "&" is all lxml would escape in it.
            html.append(f"{head}{url.replace('&', '&amp;')}{label_html}")
            extra += link_extra
            line = f"{indent}{label}: {url}"
            text.append(line if len(line) <= TEXT_WIDTH else f"{indent}{label}:\n{indent}  {url}")
    if not pairs:
        return NO_ACTIONS
    sep = atoms()["sep"]
    return Actions(tuple(pairs), sep.join(html), extra + (len(pairs) - 1) * utf8_extra(sep), "\n".join(text))
