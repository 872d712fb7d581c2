"""Plain-text line layout: 72 columns, greedy word wrap, and "Label: URL" lines."""

from __future__ import annotations

import functools
import re

from digest.email.caches import registered
from digest.email.clean import is_clean

TEXT_WIDTH = 72


@registered
@functools.lru_cache(maxsize=64)
def _wrap_re(room: int) -> re.Pattern[str]:
    # The longest run of at most ``room`` characters that ends before a space (or the end); else one
    # over-long word on its own. Cleaned text has single spaces only, so this is greedy word wrapping.
    return re.compile(rf"(.{{1,{room}}})(?: |$)|(\S+)(?: |$)")


@registered
@functools.lru_cache(maxsize=65536)
def wrap(text: str, first: str = "", rest: str = "", width: int = TEXT_WIDTH) -> str:
    """Greedy word wrap; a word longer than the line (a URL) gets a line of its own, never broken."""
    if len(first) == len(rest) and is_clean(text):  # the fast way (every caller's case), in C
        lines = [a or b for a, b in _wrap_re(max(1, width - len(rest))).findall(text)]
        if not lines:
            return first
        return first + f"\n{rest}".join(lines)
    return _wrap_words(text, first, rest, width)


def _wrap_words(text: str, first: str, rest: str, width: int) -> str:
    lines: list[str] = []
    line = first
    bare = True  # nothing but the indent on this line yet
    for word in text.split():
        if bare:
            line += word
            bare = False
        elif len(line) + 1 + len(word) <= width:
            line += " " + word
        else:
            lines.append(line)
            line = rest + word
    lines.append(line)
    return "\n".join(lines)


def link_line(label: str, url: str, indent: str = "") -> str:
    # (actions_make has this inline, for speed.)
    one = f"{indent}{label}: {url}"
    return one if len(one) <= TEXT_WIDTH else f"{indent}{label}:\n{indent}  {url}"
