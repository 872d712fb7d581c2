"""Text normalisation shared by the index, the query parser, the highlighter and the naive matcher.

Every place that turns text into searchable tokens goes through this module, so a query word and a
paper word that a reader considers "the same" end up as the same *stem*:

* Unicode: each character is NFKC-normalised, case-folded and stripped of accents (``Schölkopf`` ->
  ``scholkopf``, full-width ``ＬＬＭ`` -> ``llm``); curly quotes and apostrophes become straight ones.
  Normalisation is done character by character so offsets in the normalised text map back to the
  original text exactly (needed for highlight spans).
* Tokens are runs of letters/digits (an inner apostrophe is kept: ``model's``); hyphens, spaces and
  punctuation separate tokens, so ``fine-tuning`` and ``fine tuning`` give the same two tokens.
* A light stemmer folds plurals and possessives only (``models``/``model's`` -> ``model``, ``LLMs``
  -> ``llm``, ``queries`` -> ``query``).  It deliberately does not strip derivational suffixes, so
  ``transformation`` never matches ``transformer``.
* British and American spellings of a word are one stem (``optimisation`` -> ``optimization``,
  ``behaviours`` -> ``behavior``), from the maintained list in spelling.py; a word on no list is
  left as it is (``precise`` is never ``precize``).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from digest.authors import name_fold

from .spelling import spelling_table

# Characters that must become plain ASCII punctuation before anything else looks at the text.
_PUNCT_FOLD = {
    "\u2018": "'",  # left single quotation mark
    "\u2019": "'",  # right single quotation mark / apostrophe
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",  # prime
    "\u00b4": "'",  # acute accent used as apostrophe
    "\u0060": "'",  # backtick
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u201f": '"',
    "\u00ab": '"',
    "\u00bb": '"',
    "\u2033": '"',
    "\u2010": "-",  # the many Unicode hyphens and dashes
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2212": "-",
    "\u00a0": " ",
}


def _fold_char(ch: str) -> str:
    """Normalise one character: punctuation fold, NFKC, casefold, accents removed."""
    if ch in _PUNCT_FOLD:
        return _PUNCT_FOLD[ch]
    text = unicodedata.normalize("NFKC", ch).casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    # Anything non-ASCII that is not a letter or digit becomes a space: the index tokenizes bytes and
    # treats every non-ASCII byte as part of a word.
    return "".join(_PUNCT_FOLD.get(c, c if c.isascii() or c.isalnum() else " ") for c in folded)


class _FoldTable(dict):
    """A ``str.translate`` table that computes (and remembers) the fold of each character it meets."""

    def __missing__(self, codepoint: int) -> str:
        folded = _fold_char(chr(codepoint))
        self[codepoint] = folded
        return folded


_FOLD_TABLE = _FoldTable()


def fold(text: str) -> str:
    """Normalise text for matching; ASCII (nearly every abstract) takes a fast path."""
    if text.isascii():
        return text.lower()
    return text.translate(_FOLD_TABLE)


def fold_offsets(text: str) -> list[int] | None:
    """For each character of ``fold(text)``, the index of the original character it came from.

    ``None`` means the mapping is the identity (ASCII text), which is the common case.
    """
    if text.isascii():
        return None
    origin: list[int] = []
    for i, ch in enumerate(text):
        origin.extend([i] * len(_FOLD_TABLE[ord(ch)]))
    origin.append(len(text))  # so an end offset equal to len(folded) maps to len(text)
    return origin


# A token: letters/digits, optionally joined by inner apostrophes ("model's", "don't").
TOKEN_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)*")

# Plurals that the suffix rules below would get wrong; both sides of a match go through this table.
_IRREGULAR = {
    "analyses": "analysis",
    "biases": "bias",
    "aliases": "alias",
    "atlases": "atlas",
    "canvases": "canvas",
    "hypotheses": "hypothesis",
    "indices": "index",
    "matrices": "matrix",
    "vertices": "vertex",
    "criteria": "criterion",
    "phenomena": "phenomenon",
    "theses": "thesis",
    "diagnoses": "diagnosis",
    "axes": "axis",
    "viruses": "virus",
    "corpora": "corpus",
    "series": "series",
    "species": "species",
}
# Singular words ending in "s" that must keep it ...
_KEEP_S_ENDINGS = ("ss", "us", "is")
_KEEP_S_WORDS = frozenset({"bias", "atlas", "canvas", "alias", "pancreas", "always", "perhaps", "whereas"})
# ... except these plural acronyms, which look like them once lower-cased.
_ACRONYM_PLURALS = frozenset({"gpus", "cpus", "tpus", "npus", "apis", "kpis", "rois", "mris", "guis", "uis"})


@lru_cache(maxsize=200_000)
def stem(token: str) -> str:
    """The stem of an already normalised token: plural and possessive folded, British spelling
    made American (see module docstring)."""
    folded = _plural_stem(token)
    return _SPELLING.get(folded, folded)


def _plural_stem(token: str) -> str:
    """Fold plural and possessive forms (the suffix rules below, and the irregular table)."""
    if token.endswith("'s"):
        token = token[:-2]
    elif token.endswith("'"):
        token = token[:-1]
    if token in _IRREGULAR:
        return _IRREGULAR[token]
    if len(token) <= 3 or token[-2:-1].isdigit():
        return token
    # "-ie"/"-ies" and "-che"/"-ches" fold to one form whichever way the singular is spelt:
    # movie/movies -> movy, query/queries -> query, cache/caches -> cach, approach/approaches -> approach.
    if token.endswith("ies") and len(token) > 4:
        return token[:-3] + "y"
    if token.endswith("ie"):
        return token[:-2] + "y"
    if token.endswith("che"):
        return token[:-1]
    if not token.endswith("s"):
        return token
    if token.endswith(("sses", "shes", "ches", "xes", "zzes")):
        return token[:-2]
    if token in _ACRONYM_PLURALS:
        return token[:-1]
    if token.endswith(_KEEP_S_ENDINGS) or token in _KEEP_S_WORDS:
        return token
    return token[:-1]


# British stem -> American stem (spelling.py: a maintained list, not suffix rules).
_SPELLING = spelling_table(_plural_stem, _IRREGULAR)
_SPELLING_FORMS = frozenset(_SPELLING) | frozenset(_SPELLING.values())


def spelled(text: str) -> tuple[str, ...]:
    """Plural-folded tokens of ``text`` in the spelling it uses (no British/American folding)."""
    return tuple(_plural_stem(t) for t in TOKEN_RE.findall(fold(text)))


@lru_cache(maxsize=10_000)
def has_spelling_variant(text: str) -> bool:
    """Whether a word of ``text`` is spelt differently in British and American English."""
    return any(s in _SPELLING_FORMS for s in spelled(text))


def tokens(text: str) -> list[str]:
    """Normalised tokens (not stemmed) of a piece of text."""
    return TOKEN_RE.findall(fold(text))


def name_tokens(name: str) -> list[str]:
    """Tokens of a person's name, through the one fold for people's names (``digest.authors.name_fold``)
    before the text fold: ``author:Orsted`` finds "Ørsted", as a reader without that key expects.

    ASCII names (most of them) skip the Unicode work: both folds are ``lower()`` there (tested)."""
    if name.isascii():
        return TOKEN_RE.findall(name.lower())
    return TOKEN_RE.findall(fold(name_fold(name)))


def stems(text: str) -> list[str]:
    """Stems of a piece of text, in order."""
    return [stem(t) for t in TOKEN_RE.findall(fold(text))]


# A split part must be at least this long: "pretraining" -> "pre training" is useful, "into" ->
# "in to" is not.
MIN_SPLIT_PART = 3


@lru_cache(maxsize=50_000)
def phrase_variants(unit: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """The stem sequences that count as the same phrase as ``unit``.

    Hyphen, space and joined forms are alike: two adjacent words may appear joined (``fine tuning`` ~
    ``finetuning``) and one word may appear split in two (``dataset`` ~ ``data set``).  One join or one
    split at a time, so the number of variants stays linear in the phrase length.
    """
    variants: list[tuple[str, ...]] = [unit]
    for i in range(len(unit) - 1):
        variants.append((*unit[:i], unit[i] + unit[i + 1], *unit[i + 2 :]))
    for i, word in enumerate(unit):
        if not word.isalpha():
            continue
        for cut in range(MIN_SPLIT_PART, len(word) - MIN_SPLIT_PART + 1):
            variants.append((*unit[:i], word[:cut], word[cut:], *unit[i + 1 :]))
    # Deduplicate while keeping a deterministic order.
    return tuple(dict.fromkeys(variants))
