"""Snippet windows and span merging (pure string work, no index access)."""

from __future__ import annotations

import re

SNIPPET_CHARS = 300
LEAD_CHARS = 60  # context kept before the anchoring hit
ELLIPSIS = "…"
_SPACE_RE = re.compile(r"\s")

Spans = tuple[tuple[int, int], ...]


def merge_spans(spans: list[tuple[int, int]]) -> Spans:
    """Sorted, with overlapping spans merged."""
    if len(spans) < 2:
        return tuple(spans)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def snippet_window(abstract: str, anchor: int) -> tuple[int, int, str]:
    """(start, end, snippet) of about SNIPPET_CHARS of the abstract around the character ``anchor``.

    The window starts a little before the anchor, is cut at word boundaries, and gets an ellipsis
    on each side where the abstract was cut.
    """
    if len(abstract) <= SNIPPET_CHARS:
        start, end = 0, len(abstract)
    else:
        start = max(0, min(anchor - LEAD_CHARS, len(abstract) - SNIPPET_CHARS))
        if start > 0 and not abstract[start - 1].isspace():
            space = _SPACE_RE.search(abstract, start, max(anchor, start))
            start = space.end() if space else anchor
        end = min(len(abstract), start + SNIPPET_CHARS)
        if end < len(abstract) and not abstract[end].isspace():
            cut = max(abstract.rfind(" ", start, end), abstract.rfind("\n", start, end))
            if cut > start:
                end = cut
    while start < end and abstract[start].isspace():
        start += 1
    while end > start and abstract[end - 1].isspace():
        end -= 1
    prefix = ELLIPSIS if start > 0 else ""
    suffix = ELLIPSIS if end < len(abstract) else ""
    return start, end, prefix + abstract[start:end] + suffix
