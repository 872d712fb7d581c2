"""Display cleaning: what reaches a template or a header is printable, single-spaced text and safe URLs.

Not storage cleaning (that is ``digest.ingest.text``, whose ``text_clean`` keeps zero-width characters and
whose ``url_clean`` rejects a URL it would have to change): here :func:`display_text` drops the characters
that spoof or break a rendered line, and :func:`href_encode` percent-encodes a URL so it can never break out
of an attribute. Highlight spans follow the text through cleaning.
"""

from __future__ import annotations

import functools
import re
from bisect import bisect_right
from collections.abc import Callable
from urllib.parse import quote, urlsplit

from digest.email.caches import registered
from digest.matching.highlight import spans_merge

Spans = tuple[tuple[int, int], ...]

# Dropped outright: bidi overrides (spoofing), zero-width marks, BOM, non-characters and lone surrogates
# (lxml rejects those). Other control characters and any whitespace become a single space.
_REMOVE = "\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff\ufffe\uffff"
_REMOVE_SET = frozenset(_REMOVE) | {chr(c) for c in range(0xD800, 0xE000)}
_REMOVABLE = re.compile(f"[{_REMOVE}\ud800-\udfff]")
# A stretch to replace: 2+ whitespace/control characters, one that isn't a plain space, or a space at an end.
_BAD_RUN = re.compile(r"[\s\x00-\x1f\x7f-\x9f]{2,}|[^\S ]|[\x00-\x1f\x7f-\x9f]|\A | \Z")


def _is_space(ch: str) -> bool:
    return ch.isspace() or ch < " " or "\x7f" <= ch <= "\x9f"


def is_clean(value: str) -> bool:
    # isprintable() is False for every control, format (bidi, zero-width) and separator character except
    # the plain space -- a superset of what cleaning changes, checked in C.
    return value.isprintable() and "  " not in value and not value.startswith(" ") and not value.endswith(" ")


def display_text(value: str) -> str:
    """One line of printable text: control characters out, whitespace runs become one space."""
    if is_clean(value):
        return value
    return clean_mapped(value)[0]


def clean_mapped(text: str) -> tuple[str, Callable[[int], int]]:
    """Clean ``text``; also return a function mapping an offset in ``text`` (0..len) to one in the result."""
    if _REMOVABLE.search(text):
        clean, positions = _clean_per_char(text)
        return clean, positions.__getitem__
    pieces: list[str] = []
    starts: list[int] = []
    runs: list[tuple[int, int, int]] = []  # (end, start in the result, shift after it)
    pos = shift = 0
    for match in _BAD_RUN.finditer(text):
        a, b = match.span()
        repl = "" if a == 0 or b == len(text) else " "
        pieces += (text[pos:a], repl)
        starts.append(a)
        runs.append((b, a - shift, shift + (b - a) - len(repl)))
        shift += (b - a) - len(repl)
        pos = b
    pieces.append(text[pos:])

    def newpos(p: int) -> int:
        k = bisect_right(starts, p) - 1
        if k < 0:
            return p
        end, new_start, shift_after = runs[k]
        return new_start if p < end else p - shift_after  # inside a run: where its space goes

    return "".join(pieces), newpos


def _clean_per_char(text: str) -> tuple[str, list[int]]:
    """The general (slower) cleaner, for text with characters to drop outright."""
    out: list[str] = []
    newpos = [0] * (len(text) + 1)
    pending_space = False
    for i, ch in enumerate(text):
        if ch in _REMOVE_SET:
            newpos[i] = len(out) + (1 if pending_space and out else 0)
            continue
        if _is_space(ch):
            newpos[i] = len(out)
            pending_space = True
            continue
        if pending_space and out:
            out.append(" ")
        pending_space = False
        newpos[i] = len(out)
        out.append(ch)
    newpos[len(text)] = len(out)
    return "".join(out), newpos


@registered
@functools.lru_cache(maxsize=8192)
def _title_cleaned(title: str) -> tuple[str, Callable[[int], int]]:
    """Titles are per paper (often with feed line breaks): clean each once, whoever it is for."""
    return clean_mapped(title)


def spans_clean(text: str, spans: Spans, *, is_title: bool = False) -> tuple[str, Spans]:
    """The text cleaned, and its highlight spans moved along, clipped and merged (sloppy spans never break
    HTML)."""
    if is_clean(text):
        return text, spans_merge(spans, len(text)) if spans else ()
    clean, newpos = _title_cleaned(text) if is_title else clean_mapped(text)
    n = len(text)
    moved = ((newpos(min(max(0, int(s)), n)), newpos(min(max(0, int(e)), n))) for s, e in spans)
    return clean, spans_merge(moved, len(clean))


def snippet_trim(text: str, spans: Spans, limit: int) -> tuple[str, Spans]:
    """Cut at a word boundary before ``limit`` characters (adding an ellipsis), keeping the spans that fit."""
    if len(text) <= limit:
        return text, spans
    if limit <= 0:
        return "", ()
    cut = text.rfind(" ", 0, limit)
    if cut < limit * 0.6:
        cut = limit
    kept = tuple((s, min(e, cut)) for s, e in spans if s < cut)
    return text[:cut].rstrip() + "…", kept


@registered
@functools.lru_cache(maxsize=4096)
def texts_clean(values: tuple[str, ...]) -> tuple[str, ...]:
    """Each value through :func:`display_text`; those left empty are dropped."""
    return tuple(t for t in (display_text(v) for v in values) if t)


# Characters a URL may keep as they are; everything else is percent-encoded, so a URL can never break
# out of an attribute and lxml's serializer has nothing left to escape but "&".
_URL_SAFE = "-._~:/?#[]@!$&'()*+,;=%"

URL_ALREADY_SAFE = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:[/?#][-A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%]*)?")


def href_encode(url: str) -> str:
    """An absolute http(s) URL, percent-encoded; anything else (javascript:, data:, relative) becomes ""."""
    if URL_ALREADY_SAFE.fullmatch(url):
        return url
    url = display_text(url).replace(" ", "%20")
    if not url:
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        return ""
    return quote(url, safe=_URL_SAFE)
