"""Acronyms and long forms are one interest: learned from the papers (Schwartz-Hearst) plus a curated list."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from digest.matching import (
    PaperDoc,
    PaperIndex,
    Profile,
    QueryError,
    match_profile,
    naive_match,
    naive_prepare,
    parse_query,
)
from digest.matching.acronyms import CURATED, AcronymTable, best_long_form, find_definitions


@pytest.mark.parametrize(
    ("text", "pairs"),
    [
        ("We study Large Language Models (LLMs) at scale.", [("LLMs", "Large Language Models")]),
        ("A sparse mixture-of-experts (MoE) layer.", [("MoE", "mixture-of-experts")]),
        ("We train a vision-language model (VLM; e.g. a captioner).", [("VLM", "vision-language model")]),
        (
            "Agents trained by RLHF (reinforcement learning from human feedback) drift.",
            [("RLHF", "reinforcement learning from human feedback")],
        ),
        ("Our results (see Table 2) hold.", []),
        ("Accuracy improves (by 3%) over baselines (2023).", []),
        ("A new method (ours) is best.", []),
    ],
)
def test_schwartz_hearst_finds_the_definitions_authors_write(text, pairs):
    assert find_definitions(text) == pairs


def test_the_long_form_is_the_shortest_whose_letters_spell_the_acronym_from_a_word_start():
    assert best_long_form("RL", "policies trained with reinforcement learning") == "reinforcement learning"
    assert best_long_form("MoE", "a sparse mixture of experts") == "mixture of experts"
    assert best_long_form("XYZ", "nothing here spells it") is None


def doc(key: int, text: str, title: str = "A paper") -> PaperDoc:
    return PaperDoc(key, title, text)


def test_support_is_counted_per_acronym_and_only_clear_long_forms_are_kept():
    docs = [doc(i, "We use reinforcement learning (RL) for control.") for i in range(6)]
    docs += [doc(10, "Self-supervised representation learning (RL) of images.")]
    docs += [doc(20 + i, "Contrastive learning (CL) works.") for i in range(3)]
    docs += [doc(30 + i, "Continual learning (CL) forgets.") for i in range(2)]
    docs += [doc(40, "Grokking tickets (GT) appear once.")]
    table = AcronymTable.from_docs(docs, curated={})
    assert table.support["rl"] == Counter({("reinforcement", "learning"): 6, ("representation", "learning"): 1})
    assert table.expansions["rl"] == (("reinforcement", "learning"),)  # the lone competitor is dropped
    assert set(table.expansions["cl"]) == {("contrastive", "learning"), ("continual", "learning")}
    assert "gt" not in table.expansions  # defined by one paper only


def test_everyday_words_and_single_capitals_are_not_learned_as_acronyms():
    docs = [doc(i, "Images of a Cute Animal Toy (CAT) and Adaptive Moments (Adam).") for i in range(5)]
    table = AcronymTable.from_docs(docs, curated={})
    assert "cat" not in table.support and "adam" not in table.support


def test_the_curated_list_is_usable_and_wins_over_a_weak_competitor():
    docs = [doc(i, "Reinforcement learning (RL) for control.") for i in range(8)]
    docs += [doc(10 + i, "Robust learning (RL) of x.") for i in range(2)]
    table = AcronymTable.from_docs(docs)
    assert set(CURATED) <= {table.labels[a] for a in table.expansions}
    assert table.support["rl"][("robust", "learning")] == 2
    assert table.expansions["rl"] == (("reinforcement", "learning"),)  # 2 of 8 + 2 + 3 (curated): not clear


PAPERS = [
    PaperDoc(
        1,
        "Scaling laws for large language models",
        "Large language models grow. Efficient large language model inference.",
    ),
    PaperDoc(2, "LLM agents", "An LLM agent plans. Efficient LLM inference matters."),
    PaperDoc(3, "Sparse MoE routing", "Tokens are routed."),
    PaperDoc(4, "Experts", "A mixture of experts for vision."),
    PaperDoc(5, "Transformation invariance", "Learned transformations, not transformers."),
    PaperDoc(6, "Policy learning", "We use reinforcement learning for robots."),
    PaperDoc(7, "RL for robots", "Policies for robots."),
]


def found(query: str, docs: list[PaperDoc] = PAPERS) -> set[int]:
    profile = Profile(1, (query,), limit=100)
    keys = {m.paper_key for m in match_profile(PaperIndex.build(docs), profile)}
    assert naive_match(docs, profile) == keys  # the reference matcher knows the same equivalences
    return keys


@pytest.mark.parametrize(
    ("query", "keys"),
    [
        ("LLM", {1, 2}),
        ('"large language model"', {1, 2}),
        ("large language model", {1, 2}),
        ("LLMs", {1, 2}),
        ("title:LLM", {1, 2}),
        ('title:"large language models"', {1, 2}),
        ('"efficient LLM inference"', {1, 2}),
        ('"efficient large language model inference"', {1, 2}),
        ("MoE", {3, 4}),
        ('"mixture of experts"', {3, 4}),
        ("RL", {6, 7}),
        ("reinforcement learning", {6, 7}),
        ("title:RL", {7}),
        ("=LLM", {2}),
        ('="large language model"', {1}),
        ("title:=RL", {7}),
        ("transformer", {5}),
        ("transformation", {5}),
    ],
)
def test_an_acronym_and_its_long_form_are_one_interest_both_ways(query, keys):
    assert found(query) == keys


def test_transformer_still_never_matches_transformation():
    docs = [PaperDoc(1, "Transformation groups", "Equivariant transformations.")]
    assert found("transformer", docs) == set()


def test_the_explanation_says_which_form_matched_and_the_highlight_covers_it():
    index = PaperIndex.build(PAPERS)
    by_key = {m.paper_key: m for m in match_profile(index, Profile(1, ("LLM",)))}
    assert by_key[1].reasons[0].terms == ("LLM",)  # the word as written: what a "mute" link offers
    assert by_key[1].reasons[0].described == ("LLM, as 'large language model'",)
    assert by_key[1].described_terms == ("LLM, as 'large language model'",)
    assert [PAPERS[0].title[a:b] for a, b in by_key[1].title_spans] == ["large language models"]
    assert by_key[2].reasons[0].descriptions == ("LLM",)
    by_key = {m.paper_key: m for m in match_profile(index, Profile(1, ("LLMs",)))}
    assert by_key[1].reasons[0].descriptions == ("LLMs, as 'large language model'",)
    by_key = {m.paper_key: m for m in match_profile(index, Profile(1, ("reinforcement learning",)))}
    assert by_key[7].reasons[0].descriptions == ("reinforcement learning, as 'RL'",)
    assert [PAPERS[6].title[a:b] for a, b in by_key[7].title_spans] == ["RL"]
    (match,) = match_profile(PaperIndex.build(PAPERS[:1]), Profile(1, ('"efficient LLM inference"',)))
    assert match.reasons[0].descriptions == ("efficient LLM inference, with LLM as 'large language model'",)
    assert [match.snippet[a:b] for a, b in match.snippet_spans] == ["Efficient large language model inference"]


def test_the_exact_word_syntax_is_checked_like_the_rest():
    assert parse_query("=LLM").terms[0].exact
    assert not parse_query("LLM").terms[0].exact
    with pytest.raises(QueryError, match="Double '='") as err:
        parse_query("==LLM")
    assert err.value.position == 0


def test_acronyms_learned_from_the_day_expand_like_curated_ones():
    docs = [PaperDoc(i, "Paper", "A concept bottleneck model (CBM) is interpretable.") for i in range(2)]
    docs += [PaperDoc(9, "Sparse CBMs", "Fast.")]
    docs += [PaperDoc(10, "More", "Three concept bottleneck models (CBMs) are compared.")]
    assert found("concept bottleneck model", docs) == {0, 1, 9, 10}
    assert found("CBM", docs) == {0, 1, 9, 10}
    docs += [PaperDoc(11, "Interpretable concept bottleneck models", "No acronym here.")]
    by_key = {m.paper_key: m for m in match_profile(PaperIndex.build(docs), Profile(1, ("CBMs",)))}
    assert by_key[11].reasons[0].descriptions == ("CBMs, as 'concept bottleneck model'",)  # the singular


def test_acronyms_now_find_the_same_corpus_papers_as_their_long_forms(corpus_path):
    rows = [json.loads(line) for line in corpus_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    docs = [PaperDoc(i, r["title"], r["abstract"]) for i, r in enumerate(rows)]
    index = PaperIndex.build(docs)

    prepared = naive_prepare(docs)

    def keys(query: str) -> set[int]:
        profile = Profile(1, (query,), limit=1000)
        found = {m.paper_key for m in match_profile(index, profile)}
        assert naive_match(prepared, profile) == found
        return found

    for short, long in [
        ("LLM", "large language model"),
        ("MoE", "mixture of experts"),
        ("RL", "reinforcement learning"),
    ]:
        either = keys(f'={short} OR ="{long}"')
        assert keys(short) == keys(f'"{long}"') == either
        # papers that only spell it out, or only abbreviate it, are found now
        assert either > keys(f"={short}") or either > keys(f'="{long}"')
        assert keys(long) >= either  # the bare words find them too
    assert index.acronyms.support["llm"][("large", "language", "model")] >= 20  # learned from the papers
