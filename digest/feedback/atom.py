"""The private Atom feed (RFC 4287) of a subscriber's digests, for feed readers.

Pure: plain records in, UTF-8 XML bytes out. ElementTree escapes every text and attribute; on top
of that, characters XML 1.0 forbids (control characters a feed may have carried into a title)
are removed, so the document always parses.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

ATOM_NS = "http://www.w3.org/2005/Atom"
CONTENT_TYPE = "application/atom+xml; charset=utf-8"
# XML 1.0 allows tab, newline, carriage return and everything from U+0020 except surrogates/FFFE/FFFF.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True, slots=True)
class AtomEntry:
    id: str  # a permanent, unique IRI (tag: URI)
    title: str
    link: str
    updated: datetime
    summary: str = ""
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AtomFeed:
    id: str
    title: str
    self_url: str  # the feed's own (secret) URL
    site_url: str
    updated: datetime
    author: str
    entries: Sequence[AtomEntry] = ()
    subtitle: str = ""


def xml_text(text: str) -> str:
    return _XML_INVALID.sub("", text or "")


def rfc3339(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", {k: xml_text(v) for k, v in attrs.items()})
    if text is not None:
        element.text = xml_text(text)
    return element


def atom_render(feed: AtomFeed) -> bytes:
    ET.register_namespace("", ATOM_NS)
    root = ET.Element(f"{{{ATOM_NS}}}feed")
    _sub(root, "id", feed.id)
    _sub(root, "title", feed.title)
    if feed.subtitle:
        _sub(root, "subtitle", feed.subtitle)
    _sub(root, "updated", rfc3339(feed.updated))
    author = _sub(root, "author")
    _sub(author, "name", feed.author)
    _sub(root, "link", rel="self", type="application/atom+xml", href=feed.self_url)
    _sub(root, "link", rel="alternate", type="text/html", href=feed.site_url)
    _sub(root, "generator", "Paperboy")
    for entry in feed.entries:
        node = _sub(root, "entry")
        _sub(node, "id", entry.id)
        _sub(node, "title", entry.title, type="text")
        _sub(node, "updated", rfc3339(entry.updated))
        _sub(node, "link", rel="alternate", type="text/html", href=entry.link)
        for name in entry.authors:
            _sub(_sub(node, "author"), "name", name)
        for term in entry.categories:
            _sub(node, "category", term=term)
        if entry.summary:
            _sub(node, "summary", entry.summary, type="text")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
