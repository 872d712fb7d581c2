"""Snippet windows and span merging (pure string work, no index access)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

SNIPPET_CHARS = 300
LEAD_CHARS = 60  # context kept before the anchoring hit
ELLIPSIS = "…"
_SPACE_RE = re.compile(r"\s")

Spans = tuple[tuple[int, int], ...]


def spans_merge(spans: Iterable[Sequence[int]], length: int | None = None) -> Spans:
    """The one span merger (matching, the email, the live preview): [start, end) spans clipped to
    ``0..length`` (when given), empty ones dropped, sorted, and merged when they overlap **or touch**.

    Touching spans merge (``start <= end`` of the previous) so one highlighted run is one ``<mark>``, not
    two marks side by side; the email and the preview always did this, and the matching engine never
    makes touching spans (a token ends where a non-token character starts), so no output changed.
    """
    if length is None:
        pairs = [(int(s[0]), int(s[1])) for s in spans]
    else:
        pairs = [(max(0, int(s[0])), min(length, int(s[1]))) for s in spans]
    return spans_merge_pairs(pairs)


def spans_merge_pairs(pairs: list[tuple[int, int]]) -> Spans:
    """``spans_merge`` of a list of (int, int) pairs, as they are (the explainer's hot path: its spans
    are already plain ints within the text). Sorts ``pairs`` in place."""
    pairs.sort()
    merged: list[tuple[int, int]] = []
    for start, end in pairs:
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
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


def snippet_shift(start: int) -> int:
    """What to add to an abstract's character offset to get its offset in the snippet of the window
    starting at ``start`` (``snippet_window``: an ellipsis leads where the abstract was cut)."""
    return (len(ELLIPSIS) if start > 0 else 0) - start
