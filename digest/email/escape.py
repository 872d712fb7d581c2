"""HTML escaping two ways -- as lxml serializes it (the fast path fills pre-inlined templates, so its values
must come out exactly as premailer's serializer would write them) and as markupsafe does (the reference
path, where premailer re-serializes everything) -- plus highlights and UTF-8 size arithmetic.

lxml escapes text as ``& < >`` and attribute values as ``& < > "``; markupsafe also escapes quotes.
"""

from __future__ import annotations

from collections.abc import Callable

from markupsafe import Markup, escape


def lx_text(value: str) -> str:
    if "&" in value:
        value = value.replace("&", "&amp;")
    if "<" in value:
        value = value.replace("<", "&lt;")
    if ">" in value:
        value = value.replace(">", "&gt;")
    return value


def lx_attr(value: str) -> str:
    return lx_text(value).replace('"', "&quot;")


def trusted(html: str) -> Markup:
    """Mark HTML as safe. Only for strings assembled here from escaped pieces and our own tags or files."""
    return Markup(html)  # noqa: S704 -- every caller builds ``html`` from escaped values (see each call)


def md_text(value: str) -> str:
    """markupsafe's escape, for the reference (premailer-on-everything) path."""
    return str(escape(value))


def highlight(text: str, spans: tuple[tuple[int, int], ...], esc: Callable[[str], str], mark_open: str) -> Markup:
    """Escaped text with ``<mark>`` around the spans -- built from escaped pieces, never by injecting raw text."""
    if not spans:
        return trusted(esc(text))
    out: list[str] = []
    pos = 0
    for s, e in spans:
        out.append(esc(text[pos:s]))
        out.append(mark_open)
        out.append(esc(text[s:e]))
        out.append("</mark>")
        pos = e
    out.append(esc(text[pos:]))
    return trusted("".join(out))


def utf8_extra(text: str) -> int:
    """UTF-8 bytes beyond one per character (what ``len`` misses); 0 for ASCII, which ``isascii`` knows in O(1)."""
    return 0 if text.isascii() else len(text.encode()) - len(text)
