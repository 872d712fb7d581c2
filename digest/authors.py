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
    """Lower case, accents removed, special letters spelled out (``Ørsted`` -> ``orsted``)."""
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


def author_parse(name: str) -> AuthorName:
    """Read ``Last, First`` or ``First [particles] Last`` into an :class:`AuthorName`."""
    name = " ".join(name.split())
    if "," in name:
        family, _, given = name.partition(",")
        # "Smith, Jr., John": the suffix sits between the parts.
        given_parts = [p for p in given.split(",") if name_fold(p).strip(" .") not in _SUFFIXES]
        return AuthorName(family=_family(family.split()), given=_given_names(" ".join(given_parts)))
    words = [w for w in name.split(" ") if name_fold(w).strip(".") not in _SUFFIXES]
    if not words:
        return AuthorName(family="", given=())
    if len(words) == 1:
        return AuthorName(family=_family(words), given=())
    # The family name starts at the first particle after the first word, else it is the last word.
    start = len(words) - 1
    for i in range(1, len(words) - 1):
        if words[i] in _PARTICLES:
            start = i
            break
    return AuthorName(family=_family(words[start:]), given=_given_names(" ".join(words[:start])))


def author_key(name: str) -> str:
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


def author_query(name: str) -> str:
    """The interest that follows an author, in the matching engine's language: ``author:"Jan Müller"``."""
    clean = " ".join(name.replace('"', " ").split())
    return f'author:"{clean}"'
