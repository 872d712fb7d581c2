"""Text hygiene for everything a source sends us: whitespace, HTML, entities, ids, title keys.

Feeds are untrusted. Titles and abstracts leave this module as *plain text* (HTML stripped with an
allow-list sanitiser, entities decoded), so the templates' autoescaping is the only escaping they need.
LaTeX is kept exactly as written; Unicode is kept (NFC-normalised).
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from urllib.parse import urlparse

import nh3

from digest.authors import name_fold
from digest.invisible import invisible_strip

_WS = re.compile(r"\s+")
# C0/C1 control characters other than whitespace never belong in a title or abstract.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Block-level tags become a space, so "<p>a</p><p>b</p>" reads "a b", not "ab".
_BLOCK_TAG = re.compile(r"<\s*/?\s*(?:p|br|div|li|ul|ol|tr|td|th|h[1-6]|blockquote|pre|hr|table)\b[^>]*>", re.I)
_LOOKS_LIKE_HTML = re.compile(r"<\s*/?\s*[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?/?>|&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")

TITLE_MAX = 1000
ABSTRACT_MAX = 20000
URL_MAX = 1000
TITLE_KEY_MAX = 255


def text_clean(value: object, *, limit: int | None = None) -> str:
    """Plain text → one line: NFC, no control characters, no bidi overrides or zero-width marks
    (``digest/invisible.py``), runs of whitespace/newlines collapsed."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value))
    text = invisible_strip(_CONTROL.sub(" ", text))
    text = _WS.sub(" ", text).strip()
    if limit is not None and len(text) > limit:
        # Cut on a word boundary when there is one close by, and say that something was cut.
        cut = text[: limit - 1]
        space = cut.rfind(" ")
        text = (cut[:space] if space > limit * 0.8 else cut).rstrip() + "…"
    return text


def html_to_text(value: object, *, limit: int | None = None) -> str:
    """HTML fragment from a feed → plain text (allow-list sanitiser that allows no tag at all)."""
    if value is None:
        return ""
    raw = _BLOCK_TAG.sub(" ", str(value))
    # nh3 keeps the text of unknown tags and drops <script>/<style> with their content; what it
    # returns is HTML-escaped text, which we then decode back to plain characters.
    stripped = nh3.clean(raw, tags=set(), attributes={}, strip_comments=True)
    return text_clean(html.unescape(stripped), limit=limit)


def summary_to_text(value: object, *, content_type: str = "", limit: int | None = None) -> str:
    """A feed summary whose type may be HTML or plain text; sniff when the feed does not say."""
    text = "" if value is None else str(value)
    if "html" in content_type.lower() or (not content_type and _LOOKS_LIKE_HTML.search(text)):
        return html_to_text(text, limit=limit)
    return text_clean(html.unescape(text) if "&" in text else text, limit=limit)


def url_clean(value: object) -> str:
    """Only absolute http(s) URLs survive: a ``javascript:`` link from a feed must never reach a page."""
    text = text_clean(value)
    if not text or len(text) > URL_MAX or " " in text:
        return ""
    parsed = urlparse(text)
    if parsed.scheme.lower() not in {"http", "https"} or not parsed.netloc:
        return ""
    return text


# --- arXiv identifiers ---------------------------------------------------------------------------

# New style (since 2007): YYMM.NNNN or YYMM.NNNNN; old style: archive(.SUBJ)/YYMMNNN.
_ARXIV_NEW = r"(?P<new>\d{4}\.\d{4,5})"
_ARXIV_OLD = r"(?P<old>[a-z][a-z\-]*(?:\.[A-Za-z]{2})?/\d{7})"
_ARXIV_ID = re.compile(
    r"^(?:(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/|oai:arxiv\.org:|arxiv:)?"
    rf"(?:{_ARXIV_NEW}|{_ARXIV_OLD})(?:v(?P<version>\d+))?(?:\.pdf)?/?$",
    re.I,
)


def arxiv_id_parse(value: object) -> tuple[str, int | None] | None:
    """``2401.01234v2`` → ``("2401.01234", 2)``; URLs, ``arXiv:`` and OAI prefixes accepted; else None."""
    if value is None:
        return None
    text = str(value).strip()
    match = _ARXIV_ID.match(text)
    if not match:
        return None
    ident = match.group("new") or match.group("old")
    if match.group("old"):
        archive, number = ident.split("/", 1)
        # The archive is lower case except the subject class suffix ("math.GT").
        if "." in archive:
            head, subject = archive.split(".", 1)
            archive = f"{head.lower()}.{subject.upper()}"
        else:
            archive = archive.lower()
        ident = f"{archive}/{number}"
    version = int(match.group("version")) if match.group("version") else None
    return ident, version


def doi_clean(value: object) -> str:
    """``https://doi.org/10.1/X`` or ``doi:10.1/X`` → ``10.1/x`` (DOIs are case-insensitive)."""
    text = text_clean(value)
    text = re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", "", text, flags=re.I)
    return text.lower() if re.match(r"^10\.\d{4,9}/\S+$", text) else ""


# --- Title keys ----------------------------------------------------------------------------------

_LATEX_COMMAND = re.compile(r"\\([A-Za-z]+)")
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


def _title_fold(text: str) -> str:
    """Case-fold and drop accents of a title's text, so "Schrödinger" and "Schrodinger" compare equal.

    (People's names go through :func:`digest.authors.name_fold`, which also spells out ø, ł, æ...)"""
    # Compatibility-decompose before and after case folding: "𝕊" only becomes "S" after NFKD.
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def title_key(title: str) -> str:
    """The normalised title used to recognise the same paper from sources without a shared id.

    Case, accents, whitespace and punctuation are folded, and LaTeX markup is reduced to its words
    (``$\\alpha$-Nets`` and ``α-nets`` are different, but ``\\textbf{Deep} Nets`` equals ``Deep nets``).
    """
    text = html.unescape(text_clean(title))
    text = _LATEX_COMMAND.sub(lambda m: " " if m.group(1) in _LATEX_FORMATTING else f" {m.group(1)} ", text)
    text = _NOT_WORD.sub(" ", _title_fold(text))
    return _WS.sub(" ", text).strip()[:TITLE_KEY_MAX]


_LATEX_FORMATTING = {
    "textbf",
    "textit",
    "emph",
    "mathrm",
    "mathbf",
    "mathcal",
    "mathbb",
    "text",
    "textrm",
    "texttt",
    "textsc",
    "bf",
    "it",
    "rm",
    "mathit",
    "boldsymbol",
    "operatorname",
}


def surname_key(name: str) -> str:
    """A person's surname alone, folded like every person's name (:func:`digest.authors.name_fold`):
    "Cheng, Zesen", "Zesen Cheng" and "Z. Cheng" all give "cheng"; "Ørsted" and "Orsted" both give "orsted".

    Storing uses it to tell whether two papers with the same title share their first author; the
    given names are left out because feeds disagree on them ("Z." or "Zesen")."""
    text = text_clean(name)
    if not text:
        return ""
    surname = text.split(",", 1)[0] if "," in text else text.split(" ")[-1]
    return _NOT_WORD.sub("", name_fold(surname))


def authors_split(value: str) -> list[str]:
    """One comma/"and"-separated author string (``dc:creator``) → a list of names."""
    text = text_clean(value)
    if not text:
        return []
    parts = re.split(r"\s*(?:,|;|\band\b|&)\s*", text)
    return [part for part in (p.strip() for p in parts) if part]


def id_hash(*parts: str) -> str:
    """A short stable digest for ids that are too long or absent (never for security)."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


def body_decode(body: bytes, *, declared_charset: str = "") -> str:
    """Decode a response body whose charset header may be wrong or missing.

    Valid UTF-8 is trusted over any declaration (text in another charset is almost never valid UTF-8
    by accident); otherwise the declared charset, then the XML declaration, then Windows-1252.
    """
    if body.startswith(b"\xef\xbb\xbf"):
        return body[3:].decode("utf-8", errors="replace")
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):
        return body.decode("utf-16", errors="replace")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    candidates = [declared_charset]
    declared = re.search(rb"^\s*<\?xml[^>]*encoding=[\"']([A-Za-z0-9._\-]+)", body[:200])
    if declared:
        candidates.append(declared.group(1).decode("ascii"))
    candidates.append("windows-1252")
    for charset in candidates:
        if not charset:
            continue
        try:
            return body.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
    return body.decode("latin-1")


def xml_as_utf8(body: bytes, *, declared_charset: str = "") -> bytes:
    """Re-encode an XML document as UTF-8 and make its declaration say so, whatever it claimed."""
    text = body_decode(body, declared_charset=declared_charset)
    text = re.sub(r"^\s*<\?xml[^>]*\?>", '<?xml version="1.0" encoding="utf-8"?>', text, count=1)
    return text.encode("utf-8")
