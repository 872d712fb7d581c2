"""Papers like these: the vectorised matcher against its plain reference, and what subscribers see."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digest.library import similarity
from digest.library.naive import library_match_naive
from digest.library.records import Library, LibraryPaperDoc
from digest.library.similarity import LibraryIndex, libraries_match, library_match
from digest.library.topk import row_order, row_order_plain, top_per_row
from digest.library.words import TermVector, term_vector, words
from digest.matching import PaperDoc
from tests.conftest import CORPUS_PATH, service_missing


@pytest.fixture(scope="module")
def corpus_docs() -> list[PaperDoc]:
    if not CORPUS_PATH.exists():
        service_missing(f"the shared corpus is not at {CORPUS_PATH}")
    rows = [json.loads(line) for line in CORPUS_PATH.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [PaperDoc(key=i + 1, title=r["title"], abstract=r["abstract"]) for i, r in enumerate(rows)]


def seed_of(doc: PaperDoc) -> LibraryPaperDoc:
    return LibraryPaperDoc(key=f"seed:{doc.key}", title=doc.title, abstract=doc.abstract)


def comparable(matches) -> list[tuple]:
    return [(m.paper_key, round(m.score, 4), m.like[0].key) for m in matches]


@settings(max_examples=25)
@given(data=st.data())
def test_the_vectorised_matcher_agrees_with_the_plain_reference(corpus_docs, data):
    pool = data.draw(st.lists(st.sampled_from(corpus_docs), min_size=5, max_size=80, unique_by=lambda d: d.key))
    # Up to 20 papers: every neighbour level (NEIGHBOUR_LEVELS) is exercised.
    library = data.draw(st.lists(st.sampled_from(corpus_docs), min_size=1, max_size=20, unique_by=lambda d: d.key))
    exclude = frozenset(d.key for d in pool[:2])
    limit = data.draw(st.integers(1, 12))
    seeds = [seed_of(d) for d in library]
    fast = library_match(LibraryIndex.build(pool), seeds, limit=limit, exclude=exclude)
    slow = library_match_naive(pool, seeds, limit=limit, exclude=exclude)
    assert comparable(fast) == comparable(slow)


def test_many_libraries_at_once_get_what_each_would_get_alone(corpus_docs):
    pool = corpus_docs[:150]
    # Libraries of 3, 9 and 15 papers: one of each neighbour level, matched together.
    libraries = {
        i: [seed_of(d) for d in corpus_docs[150 + 20 * i : 150 + 20 * i + size]] for i, size in enumerate((3, 9, 15, 4))
    }
    index = LibraryIndex.build(pool)
    papers = {s.key: s for seeds in libraries.values() for s in seeds}
    together = libraries_match(
        index, papers, [Library(key=k, papers=tuple(s.key for s in v)) for k, v in libraries.items()]
    )
    for key, seeds in libraries.items():
        assert comparable(together.get(key, [])) == comparable(library_match(index, seeds))


def test_only_the_shown_and_the_asked_for_matches_are_explained_and_they_are_explained_alike(corpus_docs):
    pool = corpus_docs[:150]
    seeds = [seed_of(d) for d in corpus_docs[150:160]]
    index = LibraryIndex.build(pool)
    full = library_match(index, seeds, limit=30)
    also = full[20].paper_key  # a paper the keyword interests found too: beyond the shown, explained
    library = Library(key=1, papers=tuple(s.key for s in seeds), limit=30, shown=10, explain_also=frozenset({also}))
    some = libraries_match(index, seeds, [library])[1]

    assert [(m.paper_key, m.score) for m in some] == [(m.paper_key, m.score) for m in full]
    explained = [m for m in some if m.like]
    assert [m.paper_key for m in explained] == [m.paper_key for m in full[:10]] + [also]
    assert {m.paper_key: m.like for m in explained} == {m.paper_key: m.like for m in full if m in explained}


def test_a_paper_like_one_library_paper_names_that_paper(corpus_docs):
    flash, scaling = next(d for d in corpus_docs if d.title.startswith("FlashAttention-2")), corpus_docs[30]
    pool = [d for d in corpus_docs if d.key not in {flash.key, scaling.key}]
    found = library_match(LibraryIndex.build(pool), [seed_of(flash), seed_of(scaling)], limit=20)
    io_attention = next(
        m for m in found if m.paper_key == next(d.key for d in pool if "I/O Complexity of Attention" in d.title)
    )
    assert io_attention.like[0].title == flash.title
    assert io_attention.like[0].text == f"like ‘{flash.title}’, from your library"


def test_the_library_papers_themselves_are_never_listed(corpus_docs):
    library = corpus_docs[:3]
    found = library_match(
        LibraryIndex.build(corpus_docs), [seed_of(d) for d in library], exclude={d.key for d in library}
    )
    assert found and not {m.paper_key for m in found} & {d.key for d in library}


def test_a_paper_sharing_no_word_with_the_library_is_not_like_it():
    pool = [
        PaperDoc(
            key=1, title="Protein folding with graph networks", abstract="Graph networks predict protein structure."
        ),
        PaperDoc(key=2, title="Medieval trade routes", abstract="Merchants travelled between cities."),
    ]
    library = [
        LibraryPaperDoc(
            key="x", title="Graph networks for molecules", abstract="Graph networks predict molecule properties."
        )
    ]
    assert [m.paper_key for m in library_match(LibraryIndex.build(pool), library)] == [1]


def test_a_library_nothing_is_like_gets_nothing():
    pool = [PaperDoc(key=1, title="Medieval trade routes", abstract="Merchants travelled between cities.")]
    library = [LibraryPaperDoc(key="x", title="Graph networks", abstract="Message passing on molecules.")]
    assert library_match(LibraryIndex.build(pool), library) == []
    assert library_match(LibraryIndex.build(pool), library, exclude={1}) == []


def test_stored_term_vectors_match_like_counting_again(corpus_docs):
    pool, seeds = corpus_docs[:60], [seed_of(d) for d in corpus_docs[60:63]]
    stored = [
        LibraryPaperDoc(
            key=s.key,
            title=s.title,
            abstract=s.abstract,
            terms=TermVector.from_json(json.loads(json.dumps(term_vector(s.title, s.abstract).to_json()))),
        )
        for s in seeds
    ]
    index = LibraryIndex.build(pool)
    assert comparable(library_match(index, stored)) == comparable(library_match(index, seeds))


def test_words_fold_plurals_and_pair_neighbours_but_drop_stop_words():
    assert words("The Models of Studies") == ["model", "study", "model study"]


@settings(max_examples=50)
@given(
    rows=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 30), st.integers(1, 40)), min_size=1, max_size=120),
    limit=st.integers(1, 6),
    decimals=st.sampled_from([None, 3]),
)
def test_top_per_row_is_each_rows_best_by_score_then_column(rows, limit, decimals):
    entries = sorted({(r, c): s / 8 for r, c, s in rows}.items())  # CSR order, integer eighths make ties
    r = np.array([k[0] for k, _ in entries])
    c = np.array([k[1] for k, _ in entries])
    s = np.array([v for _, v in entries])
    keep, values = top_per_row(r, c, s, 6, np.full(6, limit), decimals=decimals)  # 3: one packed sort key
    expected = []
    for row in range(6):
        mine = sorted(((-v, k[1]) for k, v in entries if k[0] == row))[:limit]
        expected += [(row, col, -neg) for neg, col in mine]
    assert [(int(r[i]), int(c[i]), float(v)) for i, v in zip(keep, values, strict=True)] == expected


@settings(max_examples=100)
@given(
    entries=st.lists(
        st.tuples(st.integers(0, 40), st.integers(0, 3000), st.integers(1, 6), st.integers(0, 3)),
        min_size=1,
        max_size=200,
    ),
    scale=st.sampled_from([1e-3, 1.0, 37.5]),
)
def test_the_packed_sort_orders_as_the_plain_three_key_sort(entries, scale):
    """Ties and near-ties (a few ulps apart, below any quantisation) come out as the plain lexsort puts them."""
    unique = {(r, c): (base, ulps) for r, c, base, ulps in entries}
    rows = np.array([k[0] for k in unique], dtype=np.int64)
    cols = np.array([k[1] for k in unique], dtype=np.int64)
    values = np.array([base * scale for base, _ in unique.values()])
    values = np.array([v + ulps * np.spacing(v) for v, (_, ulps) in zip(values, unique.values(), strict=True)])
    assert np.array_equal(row_order(rows, cols, values, None), row_order_plain(rows, cols, values))
    rounded = np.round(values, 3)
    assert np.array_equal(row_order(rows, cols, rounded, 3), row_order_plain(rows, cols, rounded))


def test_block_sizes_and_the_cosine_table_never_change_what_a_library_gets(corpus_docs, monkeypatch):
    pool = corpus_docs[:120]
    libraries = [
        Library(key=i, papers=tuple(f"seed:{d.key}" for d in corpus_docs[120 + 7 * i : 120 + 7 * i + size]), limit=12)
        for i, size in enumerate((1, 3, 7, 13, 20, 5))
    ]
    papers = {f"seed:{d.key}": seed_of(d) for d in corpus_docs[120:200]}
    index = LibraryIndex.build(pool)
    whole = libraries_match(index, papers, libraries)
    monkeypatch.setattr(similarity, "_SEED_BLOCK", 3)  # library papers compared with the day, query terms cut
    monkeypatch.setattr(similarity, "_BLOCK", 2)  # libraries scored at a time
    blocks = libraries_match(index, papers, libraries)
    monkeypatch.setattr(similarity, "_DENSE_TABLE", 0)  # cosines looked up in the sorted pairs, not a table
    pairs = libraries_match(index, papers, libraries)
    for other in (blocks, pairs):
        assert {k: comparable(v) for k, v in other.items()} == {k: comparable(v) for k, v in whole.items()}
        assert [m.like for k in whole for m in whole[k]] == [m.like for k in other for m in other[k]]


def test_the_library_weighs_a_title_as_the_keyword_engine_does():
    from digest.library import words as library_words
    from digest.matching import index as engine_index

    assert library_words.TITLE_WEIGHT == engine_index.TITLE_WEIGHT
    assert TermVector.from_json({"v": library_words.TERMS_FORMAT - 1, "h": "", "n": ""}) is None  # counted again
