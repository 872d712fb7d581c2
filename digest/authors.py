"""Author names as readers type them and as feeds spell them, made comparable.

Feeds disagree on how to write a name: ``Jan Müller``, ``Müller, Jan``, ``J. Müller``, ``Muller, J.``.
:func:`author_parse` folds accents and case, reads both "Last, First" and "First Last" orders, keeps
name particles (``van der``, ``de la``) with the family name and turns given names into full names
or initials. :func:`authors_match` then compares two names:

* family names must be equal after folding (``Müller`` = ``Muller``; ``Mueller`` is a different
  spelling and is *not* folded to it: doing so would merge real, distinct people);
* given names are compared position by position as far as both names have them; with
  ``initials=True`` an initial matches any given name starting with it (``J.`` ~ ``Jan``), with
  ``initials=False`` only the same full given name matches, so "Jan Müller" no longer finds "J. Müller";
* a query without a given name (``author:Müller``) matches every Müller.

Pure functions over strings: the matching engine and the web pages both use them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Letters NFKD does not decompose into a base letter + accent.
_SPECIAL_LETTERS = str.maketrans(
    {"ß": "ss", "ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "đ": "d", "Đ": "d"}
)
# Lower-case words that belong to the family name in "First van der Last".
_PARTICLES = frozenset({"van", "von", "der", "den", "de", "del", "della", "di", "da", "du", "la", "le", "ter", "ten"})
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*", re.UNICODE)


@dataclass(frozen=True, slots=True)
class AuthorName:
    """A name folded for comparison: family name words and given names (one letter = an initial)."""

    family: str
    given: tuple[str, ...]

    @property
    def initials(self) -> str:
        return "".join(name[0] for name in self.given)


def name_fold(text: str) -> str:
    """The one fold for people's names: lower case, accents removed, and the letters Unicode does not
    decompose spelled out (``Ørsted`` -> ``orsted``, ``Łukasz`` -> ``lukasz``, ``Strauß`` -> ``strauss``).

    Spelled out because a reader types the name on a keyboard without those letters, and feeds
    transliterate them (arXiv's ASCII author lists write ``Orsted``): without it one person has two
    keys. Used for every person's name: author matching and buckets here, and the surname that
    storing compares (``digest.ingest.text.surname_key``)."""
    text = unicodedata.normalize("NFKC", text).translate(_SPECIAL_LETTERS)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().replace("’", "'")


def _given_names(part: str) -> tuple[str, ...]:
    """Given names of one side of a name: ``Jean-Pierre`` -> (jean, pierre); ``J.P.`` / ``JP`` -> (j, p)."""
    names: list[str] = []
    for raw in re.split(r"[\s\-]+", part.strip()):
        if not raw:
            continue
        letters = [w for w in _WORD.findall(raw)]
        # "J.P." or "JP" (all capitals, at most 3 letters) are initials, not a name called "Jp".
        if "." in raw or (raw.isupper() and len(raw.replace(".", "")) <= 3):
            names.extend(name_fold(ch) for word in letters for ch in word)
            continue
        names.extend(name_fold(word) for word in letters)
    return tuple(n for n in names if n and n not in _SUFFIXES)


def _family(words: list[str]) -> str:
    return " ".join(name_fold(w) for w in words).replace("-", " ").strip()


def author_split(name: str) -> tuple[str, str]:
    """``(given, family)`` as written (spelling kept), from ``Last, First`` or ``First [particles] Last``."""
    name = " ".join(name.replace('"', " ").split())
    if "," in name:
        family, _, given = name.partition(",")
        # "Smith, Jr., John": the suffix sits between the parts.
        given_parts = [p.strip() for p in given.split(",") if name_fold(p).strip(" .") not in _SUFFIXES]
        return " ".join(p for p in given_parts if p), family.strip()
    words = [w for w in name.split(" ") if w and name_fold(w).strip(".") not in _SUFFIXES]
    if len(words) <= 1:
        return "", " ".join(words)
    # The family name starts at the first particle after the first word, else it is the last word.
    start = len(words) - 1
    for i in range(1, len(words) - 1):
        if words[i] in _PARTICLES:
            start = i
            break
    return " ".join(words[:start]), " ".join(words[start:])


def author_parse(name: str) -> AuthorName:
    """Read ``Last, First`` or ``First [particles] Last`` into an :class:`AuthorName`."""
    given, family = author_split(name)
    return AuthorName(family=_family(family.split()), given=_given_names(given))


def author_bucket_key(name: str) -> str:
    """A short bucket key, ``family first-initial`` (``Müller, J.`` and ``Jan Muller`` -> ``muller j``).

    Equal keys are necessary, not sufficient, for :func:`authors_match` with initials; an index can
    group names by it and compare within the group.
    """
    parsed = author_parse(name)
    return f"{parsed.family} {parsed.initials[:1]}".strip()


def authors_match(query: str, name: str, *, initials: bool = True) -> bool:
    """Whether ``name`` (from a paper) can be the author the reader meant by ``query``."""
    want, have = author_parse(query), author_parse(name)
    if not want.family or want.family != have.family:
        return False
    for a, b in zip(want.given, have.given, strict=False):
        if a == b:
            continue
        if not initials:
            return False
        if len(a) > 1 and len(b) > 1:
            return False  # two different full names: Jan is not Jonas
        if a[0] != b[0]:
            return False
    # Without initials, a query naming a given name needs a paper that names one too.
    return initials or not want.given or bool(have.given)


def author_query(name: str, *, initials: bool = False) -> str:
    """The interest that follows an author, in the matching engine's language.

    The engine matches ``author:"..."`` as a phrase of folded words inside one author's name, so
    accents are already equal (``Müller`` = ``Muller``). What differs between feeds is the order and
    the initials, so the query spells out the forms a feed uses: ``First Last`` and ``Last, First``,
    and with ``initials=True`` also ``F. Last`` and ``Last, F.`` (which may catch another F. Last).
    """
    given, family = author_split(name)
    if not family:
        return ""
    if not given:
        return f'author:"{family}"'
    forms = [f"{given} {family}", f"{family}, {given}"]
    if initials:
        letters = [w[0] for w in re.split(r"[\s.\-]+", given) if w]
        short = " ".join(f"{c}." for c in letters)
        forms += [f"{short} {family}", f"{family}, {short}"]
        if len(letters) > 1:  # "J. P. Müller" is often just "J. Müller"
            forms += [f"{letters[0]}. {family}", f"{family}, {letters[0]}."]
    return " OR ".join(f'author:"{form}"' for form in dict.fromkeys(forms))
