"""The words "papers like these" compares: single words and neighbouring pairs, stop words out."""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections import Counter

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

TITLE_WEIGHT = 2  # the title says what a paper is about most densely: its words count twice

_WORD = re.compile(r"[a-z0-9][a-z0-9\-]*[a-z0-9]|[a-z]")
_STOP = frozenset(ENGLISH_STOP_WORDS)


@functools.lru_cache(maxsize=500_000)
def _fold(word: str) -> str:
    """Plural to singular for the common English endings only (``models`` ~ ``model``, ``studies`` ~ ``study``)."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def words(text: str) -> list[str]:
    """Lower-case words without accents or stop words, then the pairs of neighbours among them
    (stop words dropped first, as arxiv-sanity's tf-idf does: "training of models" gives "training model")."""
    plain = text.lower()
    if not plain.isascii():
        plain = "".join(ch for ch in unicodedata.normalize("NFKD", plain) if not unicodedata.combining(ch))
    single = [_fold(w) for w in _WORD.findall(plain) if w not in _STOP]
    return single + [f"{a} {b}" for a, b in itertools.pairwise(single)]


def term_counts(title: str, abstract: str) -> Counter[str]:
    counts = Counter(words(abstract))
    for _ in range(TITLE_WEIGHT):
        counts.update(words(title))
    return counts
