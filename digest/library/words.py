"""The words "papers like these" compares: single words and neighbouring pairs, stop words out."""

from __future__ import annotations

import base64
import functools
import hashlib
import itertools
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

import numpy as np

# The title says what a paper is about most densely: its words count three times, as in the keyword
# engine's BM25 (digest.matching.index.TITLE_WEIGHT; a test keeps the two equal).
TITLE_WEIGHT = 3

_WORD = re.compile(r"[a-z0-9][a-z0-9\-]*[a-z0-9]|[a-z]")


@functools.cache
def _stop_words() -> frozenset[str]:
    """scikit-learn's English stop words, imported on first use: importing scikit-learn takes about a
    second, and every Django process reaches this module (the email's topics), most never calling it."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


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
    stop = _stop_words()
    single = [_fold(w) for w in _WORD.findall(plain) if w not in stop]
    return single + [f"{a} {b}" for a, b in itertools.pairwise(single)]


def term_counts(title: str, abstract: str) -> Counter[str]:
    counts = Counter(words(abstract))
    for _ in range(TITLE_WEIGHT):
        counts.update(words(title))
    return counts


# --------------------------------------------------------------------------------------------------
# Term vectors: a paper's words as sorted 63-bit hashes and counts, counted once and stored
# --------------------------------------------------------------------------------------------------

TERMS_FORMAT = 3  # 3: titles count three times (stored vectors of format 2 are counted again when read)


@dataclass(frozen=True, slots=True)
class TermVector:
    """A paper's words as (sorted, distinct) stable 63-bit hashes and their counts.

    Hashes rather than strings: a library paper's vector is stored once when it joins a library and
    matched against any day's vocabulary with one vectorised search, however many papers there are
    (a collision needs two of a day's ~10^5 words among 2^63 values: never in practice). Stored as
    base64 of the little-endian arrays: decoding 20,000 of them takes milliseconds, not seconds."""

    hashes: np.ndarray  # int64, ascending
    counts: np.ndarray  # float64

    def to_json(self) -> dict:
        counts = np.minimum(self.counts, np.iinfo(np.int32).max).astype("<i4")
        return {
            "v": TERMS_FORMAT,
            "h": base64.b64encode(self.hashes.astype("<i8").tobytes()).decode("ascii"),
            "n": base64.b64encode(counts.tobytes()).decode("ascii"),
        }

    @classmethod
    def from_json(cls, data: dict | None) -> TermVector | None:
        """The stored vector, or None when there is none (or of another format: count again)."""
        if not data or data.get("v") != TERMS_FORMAT:
            return None
        hashes = np.frombuffer(base64.b64decode(data["h"]), dtype="<i8").astype(np.int64, copy=False)  # read-only
        counts = np.frombuffer(base64.b64decode(data["n"]), dtype="<i4").astype(np.float64)
        return cls(hashes, counts)


@functools.lru_cache(maxsize=1_000_000)
def term_hash(term: str) -> int:
    return int.from_bytes(hashlib.blake2b(term.encode("utf-8"), digest_size=8).digest(), "little") >> 1


def term_vector(title: str, abstract: str) -> TermVector:
    counts = term_counts(title, abstract)
    pairs = sorted((term_hash(term), n) for term, n in counts.items())
    return TermVector(
        np.fromiter((h for h, _ in pairs), dtype=np.int64, count=len(pairs)),
        np.fromiter((n for _, n in pairs), dtype=np.float64, count=len(pairs)),
    )
