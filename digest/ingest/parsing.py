"""Safe parsing of response bodies: XML (defusedxml), RSS/Atom (feedparser behind a defusedxml gate), JSON, dates.

No entity is ever expanded and no external resource is ever fetched: a document declaring entities
(an XML bomb, an external entity) is refused before any parser that could expand it sees it.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as SafeET
import feedparser

from digest.ingest.records import FetchError
from digest.ingest.text import body_decode, text_clean, xml_as_utf8

_HTML_START = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.I | re.S)
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.I)


def body_require(body: bytes, *, what: str) -> None:
    """Reject the bodies no parser should try: empty, or an HTML page where a feed was expected."""
    if not body.strip():
        raise FetchError(f"empty response where {what} was expected")
    if _HTML_START.match(body[:2048]):
        # Not even the page's title: the run's error is shown in the admin, and the page may be an internal one.
        raise FetchError(f"got an HTML page instead of {what}")


def xml_parse(body: bytes, *, charset: str = "", what: str = "an XML document") -> Element:
    """Parse XML with defusedxml: entities and external references are refused, never expanded."""
    body_require(body, what=what)
    data = xml_as_utf8(body, declared_charset=charset)
    try:
        return SafeET.fromstring(data)
    except defusedxml.DefusedXmlException as exc:
        raise FetchError(f"refused {what}: it declares XML entities or external references ({exc})") from None
    except ParseError as exc:
        raise FetchError(f"malformed XML in {what}: {exc}") from None


def feed_parse(body: bytes, *, charset: str = "", what: str = "an RSS/Atom feed") -> feedparser.FeedParserDict:
    """Parse RSS/Atom with feedparser, after defusedxml has checked no entity is declared.

    feedparser is lenient with ill-formed feeds (``bozo``); that leniency is fine for broken markup,
    but entity declarations are refused outright.
    """
    body_require(body, what=what)
    data = xml_as_utf8(body, declared_charset=charset)
    if _ENTITY_DECL.search(data):
        raise FetchError(f"refused {what}: it declares XML entities (possible XML bomb or external entity)")
    try:
        SafeET.fromstring(data)
    except defusedxml.DefusedXmlException as exc:
        raise FetchError(f"refused {what}: it declares XML entities or external references ({exc})") from None
    except ParseError:
        pass  # ill-formed: feedparser's lenient parser gets a chance, the run notes the problem.
    # Bytes in a file object: feedparser never treats it as a URL or a path to open.
    parsed = feedparser.parse(
        io.BytesIO(data), response_headers={"content-type": "application/xml; charset=utf-8"}, sanitize_html=True
    )
    if parsed.get("bozo") and not parsed.get("entries"):
        reason = parsed.get("bozo_exception")
        raise FetchError(f"could not read {what}: {reason or 'unreadable'}")
    if not parsed.get("version") and not parsed.get("entries"):
        raise FetchError(f"not {what}: no <rss> or <feed> element found")
    return parsed


def json_parse(
    body: bytes, *, charset: str = "", what: str = "JSON", parse_int: Callable[[str], object] | None = None
) -> object:
    body_require(body, what=what)
    text = body_decode(body, declared_charset=charset)
    try:
        return json.loads(text, parse_int=parse_int)
    except json.JSONDecodeError as exc:
        # A complete document ends with its closing bracket; a cut-off download does not.
        stripped = text.rstrip()
        truncated = exc.pos >= len(stripped) - 1 or not stripped.endswith(("]", "}"))
        hint = " (truncated?)" if truncated else ""
        raise FetchError(f"invalid JSON{hint} in {what}: {exc.msg} at line {exc.lineno} column {exc.colno}") from None


# --- Dates ---------------------------------------------------------------------------------------

_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%Y%m%d")


def datetime_parse(value: object) -> datetime | None:
    """ISO 8601 (with Z), RFC 822, a plain date or a few common spellings → aware UTC datetime; else None.

    Odd or missing dates never fail an entry: they are just unknown.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _epoch_parse(value)
    text = text_clean(value)
    parsed = _text_date_parse(text) if text else None
    if parsed is None or not (1900 <= parsed.year <= 2200):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _epoch_parse(value: float) -> datetime | None:
    """Epoch seconds (or milliseconds), in a plausible range only."""
    seconds = value / 1000 if value > 1e11 else value
    return datetime.fromtimestamp(seconds, tz=UTC) if 0 < seconds < 4e9 else None


def _text_date_parse(text: str) -> datetime | None:
    """The first of ISO 8601, RFC 822 and the common spellings that reads the text (naive or aware)."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        pass
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt)  # naive on purpose: the caller makes it UTC
        except ValueError:
            continue
    return None


def struct_time_to_datetime(value) -> datetime | None:
    """feedparser's ``*_parsed`` (a UTC struct_time) → aware datetime."""
    if not value:
        return None
    try:
        year, month, day, hour, minute, second = value[:6]
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def entry_date(entry, key: str) -> datetime | None:
    """A feedparser entry's ``published_parsed``/``updated_parsed``, read without feedparser's
    deprecated fallback from one to the other (each date means what its element said)."""
    return struct_time_to_datetime(dict.get(entry, key))
