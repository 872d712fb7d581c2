"""Reading what a subscriber hands in: pasted ids and links, BibTeX and RIS exports.

Zotero, Mendeley, Google Scholar and arXiv export BibTeX; Zotero, Mendeley and most publishers RIS.
Both are read with maintained parsers (``bibtexparser`` 2, ``rispy``). A file that does not parse,
or an entry without a title or an identifier, is an error that names its line or entry: the caller
imports nothing from a file with any error (a half-imported library would be wrong without anyone
noticing).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import bibtexparser
import rispy

from digest.ingest.text import arxiv_id_parse, doi_clean, text_clean, url_clean

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_ENTRIES = 1000
MAX_ERRORS_SHOWN = 10

_LATEX_BRACES = re.compile(r"[{}]")
_LATEX_ACCENT = re.compile(r"\\[`'^\"~=.uvHtcdbk]\s*\{?([A-Za-z])\}?")
_ARXIV_IN_TEXT = re.compile(r"arxiv[:\s/]*(?:abs/)?(\d{4}\.\d{4,5}|[a-z\-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?", re.I)
_HF_PAPER = re.compile(r"^https?://(?:www\.)?huggingface\.co/papers/(\d{4}\.\d{4,5})/?$", re.I)
_DOI_URL = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)(10\.\S+)$", re.I)


class LibraryImportError(Exception):
    """What is wrong with the input, line by line or entry by entry (nothing was imported)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = problems[:MAX_ERRORS_SHOWN]
        more = len(problems) - len(shown)
        super().__init__("; ".join(shown) + (f"; and {more} more" if more > 0 else ""))


@dataclass(frozen=True)
class Citation:
    """One paper as the subscriber's input describes it; ``where`` says where ("line 3", "entry kaplan2020")."""

    where: str
    title: str = ""
    abstract: str = ""
    authors: tuple[str, ...] = ()
    year: int | None = None
    arxiv_id: str = ""
    doi: str = ""
    url: str = ""
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def identified(self) -> bool:
        return bool(self.arxiv_id or self.doi or self.title)


def _latex_plain(value: str) -> str:
    """BibTeX values keep LaTeX: ``{BERT}`` and ``M{\\"u}ller`` become ``BERT`` and ``Muller``."""
    text = _LATEX_ACCENT.sub(r"\1", value)
    text = text.replace("\\&", "&").replace("\\%", "%").replace("\\_", "_").replace("~", " ")
    return text_clean(_LATEX_BRACES.sub("", text))


def _year(value: object) -> int | None:
    match = re.search(r"\b(1[89]\d\d|20\d\d|21\d\d)\b", str(value or ""))
    return int(match.group(1)) if match else None


def _arxiv_from(*values: str) -> str:
    for value in values:
        if not value:
            continue
        parsed = arxiv_id_parse(value.strip())
        if parsed:
            return parsed[0]
        found = _ARXIV_IN_TEXT.search(value)
        if found:
            parsed = arxiv_id_parse(found.group(1))
            if parsed:
                return parsed[0]
    return ""


def _doi_of(value: str) -> str:
    doi = doi_clean(value)
    # arXiv's own DOIs (10.48550/arXiv.2001.08361) name the arXiv paper: keep them as its arXiv id.
    return doi


def _arxiv_doi(doi: str) -> str:
    match = re.match(r"^10\.48550/arxiv\.(.+)$", doi, re.I)
    parsed = arxiv_id_parse(match.group(1)) if match else None
    return parsed[0] if parsed else ""


def _text_size_check(text: str) -> None:
    if len(text.encode("utf-8", errors="replace")) > MAX_FILE_BYTES:
        raise LibraryImportError([f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB"])


def _entries_check(citations: list[Citation], *, problems: list[str], none_found: str) -> list[Citation]:
    """All or nothing: any problem, no entry at all, or too many entries refuse the whole import."""
    if problems:
        raise LibraryImportError(problems)
    if not citations:
        raise LibraryImportError([none_found])
    if len(citations) > MAX_ENTRIES:
        raise LibraryImportError([f"{len(citations)} entries: at most {MAX_ENTRIES} can be imported at once"])
    return citations


# --------------------------------------------------------------------------------------------------
# BibTeX
# --------------------------------------------------------------------------------------------------


def _line_of(block) -> str:
    """ "line N" of a parsed block (bibtexparser counts from 0, and may not know it)."""
    start = getattr(block, "start_line", None)
    return f"line {start + 1}" if isinstance(start, int) else "an entry"


def citations_from_bibtex(text: str) -> list[Citation]:
    """Every entry of a BibTeX file; :class:`LibraryImportError` names each block that does not parse
    (by line) and each entry without a title, arXiv id or DOI (by key and line)."""
    _text_size_check(text)
    # bibtexparser logs every failed block as a warning; we report them to the subscriber instead.
    logging.getLogger("bibtexparser").setLevel(logging.ERROR)
    library = bibtexparser.parse_string(text)
    problems = [
        f"{_line_of(block)}: this entry is not valid BibTeX ({_bibtex_error(block)})" for block in library.failed_blocks
    ]
    citations = []
    for entry in library.entries:
        fields = {f.key.lower(): str(f.value) for f in entry.fields}
        where = f"entry {entry.key} ({_line_of(entry)})"
        doi = _doi_of(fields.get("doi", ""))
        arxiv = _arxiv_from(
            fields.get("eprint", "") if fields.get("archiveprefix", "").lower() in {"arxiv", ""} else "",
            fields.get("arxiv", ""),
            fields.get("url", ""),
            fields.get("journal", ""),
            fields.get("note", ""),
            fields.get("howpublished", ""),
        ) or _arxiv_doi(doi)
        citation = Citation(
            where=where,
            title=_latex_plain(fields.get("title", "")),
            abstract=_latex_plain(fields.get("abstract", "")),
            authors=tuple(a for a in (_latex_plain(x) for x in re.split(r"\s+and\s+", fields.get("author", ""))) if a),
            year=_year(fields.get("year") or fields.get("date")),
            arxiv_id=arxiv,
            doi=doi,
            url=url_clean(fields.get("url", "")),
        )
        if not citation.identified:
            problems.append(f"{where}: no title, arXiv id or DOI")
            continue
        citations.append(citation)
    return _entries_check(
        citations,
        problems=problems,
        none_found="no BibTeX entries found (a BibTeX file has entries like @article{key, ...})",
    )


def _bibtex_error(block) -> str:
    error = getattr(block, "error", None)
    reason = getattr(error, "abort_reason", "") or str(error or "")
    lines = [line.strip() for line in reason.splitlines() if line.strip()]
    return (lines[0] if lines else "it could not be read")[:160]


# --------------------------------------------------------------------------------------------------
# RIS
# --------------------------------------------------------------------------------------------------

_RIS_TAG = re.compile(r"^([A-Z][A-Z0-9])  - ?(.*)$")


def _ris_structure(lines: list[str]) -> tuple[list[int], list[str]]:
    """The line number where each record starts, and what is wrong with the file's structure."""
    problems: list[str] = []
    starts: list[int] = []
    open_record = False
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        match = _RIS_TAG.match(line)
        if not match:
            if not open_record:
                problems.append(f"line {number}: expected “TY  - …” to start a record, found {line.strip()[:40]!r}")
            continue  # inside a record: a wrapped value (long abstracts)
        tag = match.group(1)
        if tag == "TY":
            if open_record:
                problems.append(f"line {number}: a new record starts before the previous one ended with “ER  -”")
            open_record = True
            starts.append(number)
        elif tag == "ER":
            if not open_record:
                problems.append(f"line {number}: “ER  -” without a record")
            open_record = False
        elif not open_record:
            problems.append(f"line {number}: {tag} outside a record (records start with “TY  - …”)")
    if open_record:
        problems.append(f"line {starts[-1]}: this record has no “ER  -” line at its end")
    return starts, problems


def citations_from_ris(text: str) -> list[Citation]:
    """Every record of an RIS file; a line that is not ``TAG  - value``, or a record without a title
    or identifier, is an error naming its line."""
    _text_size_check(text)
    lines = text.lstrip("\ufeff").splitlines()
    starts, problems = _ris_structure(lines)
    if problems:
        raise LibraryImportError(problems)
    try:
        records = rispy.loads("\n".join(lines))
    except Exception as err:  # rispy raises plain IOError/ValueError subclasses for bad files
        raise LibraryImportError([f"the file is not valid RIS ({str(err)[:160]})"]) from err
    citations = []
    for number, record in zip(starts, records, strict=False):
        where = f"record at line {number}"
        title = text_clean(record.get("title") or record.get("primary_title") or record.get("secondary_title") or "")
        urls = record.get("urls") or []
        doi = _doi_of(record.get("doi", ""))
        arxiv = _arxiv_from(*urls, record.get("notes", [""])[0] if record.get("notes") else "") or _arxiv_doi(doi)
        citation = Citation(
            where=where,
            title=title,
            abstract=text_clean(record.get("abstract", "")),
            authors=tuple(text_clean(a) for a in (record.get("authors") or record.get("first_authors") or [])),
            year=_year(record.get("year") or record.get("publication_year") or record.get("date")),
            arxiv_id=arxiv,
            doi=doi,
            url=next((u for u in (url_clean(x) for x in urls) if u), ""),
        )
        if not citation.identified:
            problems.append(f"{where}: no title, arXiv id or DOI")
            continue
        citations.append(citation)
    return _entries_check(
        citations,
        problems=problems,
        none_found="no RIS records found (a record starts with “TY  - …” and ends with “ER  -”)",
    )


# --------------------------------------------------------------------------------------------------
# Pasted ids and links
# --------------------------------------------------------------------------------------------------


def citations_from_identifiers(text: str) -> list[Citation]:
    """arXiv ids (``2001.08361``, ``arXiv:2001.08361v2``, ``hep-th/9901001``), DOIs (``10.1/x``,
    ``doi:…``, ``https://doi.org/…``) and paper links (arxiv.org, doi.org, huggingface.co/papers),
    separated by spaces, commas or new lines. Anything else is an error naming its line."""
    problems: list[str] = []
    citations: list[Citation] = []
    seen: set[tuple[str, str]] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        for token in re.split(r"[\s,;]+", line.strip()):
            token = token.strip("<>()[]\"'")
            if not token:
                continue
            citation = identifier_parse(token, where=f"line {number}")
            if citation is None:
                problems.append(
                    f"line {number}: {token[:60]!r} is not an arXiv id, a DOI or a link to a paper on arXiv, "
                    "doi.org or Hugging Face"
                )
                continue
            ident = (citation.arxiv_id, citation.doi)
            if ident not in seen:
                seen.add(ident)
                citations.append(citation)
    return _entries_check(citations, problems=problems, none_found="paste at least one arXiv id, DOI or paper link")


def identifier_parse(token: str, *, where: str) -> Citation | None:
    parsed = arxiv_id_parse(token)
    if parsed:
        return Citation(where=where, arxiv_id=parsed[0])
    hf = _HF_PAPER.match(token)
    if hf:
        return Citation(where=where, arxiv_id=hf.group(1))
    doi_url = _DOI_URL.match(token)
    doi = doi_clean(doi_url.group(1) if doi_url else token)
    if doi:
        return Citation(where=where, doi=doi, arxiv_id=_arxiv_doi(doi))
    return None


def citations_from_upload(*, name: str, text: str) -> tuple[str, list[Citation]]:
    """("bibtex" | "ris", citations) for an uploaded file, by its extension or else its content."""
    lowered = name.lower()
    stripped = text.lstrip("\ufeff \t\r\n")
    if (lowered.endswith((".ris", ".txt")) and not stripped.startswith("@")) or stripped.startswith("TY  -"):
        return "ris", citations_from_ris(text)
    looks_bibtex = stripped.startswith("@") or (stripped.startswith("%") and not stripped.startswith("%PDF"))
    if lowered.endswith((".bib", ".bibtex")) or looks_bibtex:
        return "bibtex", citations_from_bibtex(text)
    raise LibraryImportError(
        [f"{name or 'the file'}: not a BibTeX (.bib) or RIS (.ris) file; export your library in one of those formats"]
    )
