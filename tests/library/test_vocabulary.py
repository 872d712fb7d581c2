"""Looking stored term hashes up in the day's vocabulary: the bucket table finds what binary search finds."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from digest.library.vocabulary import HashedVocabulary
from digest.library.words import term_hash

HASH = st.integers(0, 2**63 - 1)
# Hashes sharing their top bits fall in one bucket: a crowded bucket must still be searched right.
CROWDED = st.tuples(st.integers(0, 3), st.integers(0, 2**20)).map(lambda t: (t[0] << 61) | t[1])


@settings(max_examples=200)
@given(
    vocabulary=st.lists(st.one_of(HASH, CROWDED), unique=True, max_size=60),
    others=st.lists(st.one_of(HASH, CROWDED), max_size=60),
    data=st.data(),
)
def test_the_bucket_table_finds_each_hash_where_binary_search_does(vocabulary, others, data):
    known = data.draw(st.lists(st.sampled_from(vocabulary), max_size=30)) if vocabulary else []
    hashed = HashedVocabulary(np.array(vocabulary, dtype=np.int64))
    queries = np.array(known + others, dtype=np.int64)
    where, found = hashed.find(queries)
    plain_where, plain_found = hashed.find_plain(queries)
    assert np.array_equal(found, plain_found)
    assert np.array_equal(where[found], plain_where[plain_found])
    assert np.array_equal(hashed.sorted_hashes[where[found]], queries[found])
    assert set(queries[found].tolist()) == set(queries.tolist()) & set(vocabulary)


def test_a_days_words_are_found_and_others_are_not():
    words = ["concept bottleneck", "diffusion", "scaling law", "model"]
    hashed = HashedVocabulary(np.array([term_hash(w) for w in words], dtype=np.int64))
    where, found = hashed.find(np.array([term_hash("diffusion"), term_hash("medieval")], dtype=np.int64))
    assert found.tolist() == [True, False]
    assert words[hashed.order[where[0]]] == "diffusion"
