"""The day's vocabulary by term hash: where each of many stored term hashes is, if the day has it.

Library papers' words are stored as 63-bit hashes (``words.TermVector``); planning looks up every one
of them (millions for 20,000 library papers) in the day's vocabulary. A binary search over the sorted
hashes (:meth:`HashedVocabulary.find_plain`, the reference) costs ~16 probes a hash. The hashes are
uniform, so their top bits address a table of buckets about 16 times the vocabulary's size: nearly
every bucket holds at most one of the day's words, found with two reads; the few hashes whose bucket
holds more are searched as before. Same answers, a few times faster.
"""

from __future__ import annotations

import numpy as np

_SPARSITY = 16  # buckets per word of the vocabulary (about) ...
_MOST_BITS = 22  # ... within 4M buckets (32 MB): a larger vocabulary has more crowded buckets, same answers
_HASH_BITS = 63  # words.term_hash: non-negative 63-bit integers


class HashedVocabulary:
    """Sorted term hashes (``sorted_hashes[i]`` is the vocabulary's ``order[i]``-th word)."""

    def __init__(self, hashes: np.ndarray) -> None:
        self.order = np.argsort(hashes, kind="stable")
        self.sorted_hashes = hashes[self.order]
        self.bits = min(_MOST_BITS, max(1, int(len(hashes) * _SPARSITY).bit_length()))
        self.shift = _HASH_BITS - self.bits
        # bounds[b]: the first sorted hash whose top bits are b or more (bucket b is bounds[b]:bounds[b+1]).
        self.bounds = np.searchsorted(self.sorted_hashes >> self.shift, np.arange((1 << self.bits) + 1))

    def __len__(self) -> int:
        return len(self.sorted_hashes)

    def find(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(place in ``sorted_hashes``, found?) for each hash; the place is meaningless where not found."""
        if not len(self.sorted_hashes):
            return np.zeros(len(hashes), dtype=np.int64), np.zeros(len(hashes), dtype=bool)
        bucket = hashes >> self.shift
        where = self.bounds[bucket]
        width = self.bounds[1:][bucket]  # the bucket's end ...
        width -= where  # ... less its start
        np.minimum(where, len(self.sorted_hashes) - 1, out=where)
        found = (width > 0) & (self.sorted_hashes[where] == hashes)
        crowded = np.flatnonzero(width > 1)
        if len(crowded):
            where[crowded], found[crowded] = self.find_plain(hashes[crowded])
        return where, found

    def find_plain(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The reference of :meth:`find`: a binary search of each hash."""
        if not len(self.sorted_hashes):
            return np.zeros(len(hashes), dtype=np.int64), np.zeros(len(hashes), dtype=bool)
        where = np.minimum(np.searchsorted(self.sorted_hashes, hashes), len(self.sorted_hashes) - 1)
        return where, self.sorted_hashes[where] == hashes
