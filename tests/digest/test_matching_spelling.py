"""British and American spellings are one word: from a maintained list, never from suffix rules."""

from __future__ import annotations

import json

import pytest
from breame.data.spelling_constants import BRITISH_ENGLISH_SPELLINGS

from digest.matching import PaperDoc, PaperIndex, Profile, match_profile, naive_match
from digest.matching.normalize import _SPELLING, stem
from digest.matching.spelling import _DENY, _EXTRA, _ISE_ENDINGS, _ISE_FAMILIES, british_to_american


@pytest.mark.parametrize(
    ("british", "american"),
    [
        ("optimisation", "optimization"),
        ("optimise", "optimize"),
        ("optimiser", "optimizer"),
        ("generalisation", "generalization"),
        ("behaviour", "behavior"),
        ("behaviours", "behaviors"),
        ("modelling", "modeling"),
        ("analyse", "analyze"),
        ("centre", "center"),
        ("colour", "color"),
        ("labelled", "labeled"),
        ("tokenisation", "tokenization"),
        ("initialisation", "initialization"),
        ("regularisers", "regularizers"),
    ],
)
def test_a_british_and_an_american_spelling_are_one_stem(british, american):
    assert stem(british) == stem(american)


@pytest.mark.parametrize(
    ("word", "other"),
    [
        ("precise", "precize"),  # no list has it: no suffix rule invents it
        ("transformer", "transformation"),
        ("analysis", "analyze"),  # "analyses" is the plural of analysis, not the verb "analyzes"
        ("tyre", "tire"),  # left out: "tire" is a different everyday word
        ("model", "modeling"),
    ],
)
def test_words_that_are_not_spelling_variants_stay_apart(word, other):
    assert stem(word) != stem(other)


def test_the_spelling_table_maps_each_british_stem_to_an_american_stem_in_one_step():
    assert len(_SPELLING) > 1000
    assert not set(_SPELLING.values()) & set(_SPELLING)  # no chains: both spellings meet in one step


def test_the_fields_additions_are_written_out_and_differ_from_the_american_only_by_s_for_z():
    pairs = british_to_american()
    for family in _ISE_FAMILIES:
        for ending in _ISE_ENDINGS:
            british, american = family + ending, pairs[family + ending]
            assert len(british) == len(american)
            assert [i for i, (a, b) in enumerate(zip(british, american, strict=True)) if a != b] == [len(family) - 1]
    for british, american in _EXTRA.items():
        assert pairs[british] == american
    assert not _DENY & set(pairs)
    assert all(pairs[b] == a for b, a in BRITISH_ENGLISH_SPELLINGS.items() if b not in _DENY)


PAPERS = [
    PaperDoc(1, "Convex optimisation in practice", "We study the behaviour of optimisers and noise modelling."),
    PaperDoc(2, "Convex optimization at scale", "The behavior of optimizers and noise modeling."),
    PaperDoc(3, "Precise timing", "A precise clock for transformers."),
]


@pytest.mark.parametrize(
    "query",
    ["optimisation", "optimization", "behaviour", "behavior", '"noise modeling"', "modelling", "title:optimization"],
)
def test_an_interest_in_either_spelling_finds_papers_in_both(query):
    matches = match_profile(PaperIndex.build(PAPERS), Profile(1, (query,)))
    assert {m.paper_key for m in matches} == {1, 2}
    assert naive_match(PAPERS, Profile(1, (query,))) == {1, 2}


def test_highlighting_covers_the_spelling_the_paper_uses():
    (match,) = match_profile(PaperIndex.build(PAPERS[:1]), Profile(1, ("optimization",)))
    assert [PAPERS[0].title[a:b] for a, b in match.title_spans] == ["optimisation"]


def test_british_spellings_now_find_the_same_corpus_papers_as_american_ones(corpus_path):
    rows = [json.loads(line) for line in corpus_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    docs = [PaperDoc(i, r["title"], r["abstract"]) for i, r in enumerate(rows)]
    index = PaperIndex.build(docs)

    def found(query: str) -> set[int]:
        return {m.paper_key for m in match_profile(index, Profile(1, (query,), limit=1000))}

    for british, american, at_least in [
        ("optimisation", "optimization", 32),
        ("generalisation", "generalization", 26),
        ("behaviour", "behavior", 16),
        ("modelling", "modeling", 17),
    ]:
        assert found(british) == found(american)
        assert len(found(british)) >= at_least  # what the American spelling alone found before


def test_the_explanation_names_the_other_spelling_when_the_paper_uses_only_that_one():
    index = PaperIndex.build(PAPERS)
    by_key = {m.paper_key: m for m in match_profile(index, Profile(1, ("optimisation",)))}
    assert by_key[1].reasons[0].descriptions == ("optimisation",)
    assert by_key[2].reasons[0].descriptions == ("optimisation, as 'optimization'",)
    assert by_key[2].reasons[0].terms == ("optimisation",)  # what a "mute" link offers
    by_key = {m.paper_key: m for m in match_profile(index, Profile(1, ('"noise modeling"',)))}
    assert by_key[1].reasons[0].descriptions == ("noise modeling, as 'noise modelling'",)
