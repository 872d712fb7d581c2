"""Ranking, reasons, highlight spans and snippets, and the batch API's contract."""

from __future__ import annotations

import dataclasses
import pickle

from digest.matching import Match, PaperDoc, PaperIndex, Profile, Reason, match_profile, match_profiles

FILLER = "We study learning systems and report results on several benchmarks. "


def paper(key: int, title: str, abstract: str = FILLER, popularity: int | None = None) -> PaperDoc:
    return PaperDoc(key, title, abstract, popularity=popularity)


def ranked(query: str, *docs: PaperDoc, limit: int = 100) -> list[int]:
    return [m.paper_key for m in match_profile(PaperIndex.build(docs), Profile(1, (query,), limit=limit))]


def test_a_title_hit_outranks_an_abstract_hit():
    in_abstract = paper(1, "A study", FILLER + "We use diffusion.")
    in_title = paper(2, "Diffusion study", FILLER)
    assert ranked("diffusion", in_abstract, in_title) == [2, 1]


def test_rarer_words_weigh_more_than_common_ones():
    common = [paper(k, f"Paper {k}", FILLER + "about networks") for k in range(10, 20)]
    rare_one = paper(1, "Paper one", FILLER + "about grokking")
    common_one = paper(2, "Paper two", FILLER + "about networks")
    assert ranked("networks OR grokking", rare_one, common_one, *common)[0] == 1


def test_bare_words_side_by_side_get_an_adjacency_bonus():
    adjacent = paper(1, "Report", "We build graph networks for chemistry, with care and rigour.")
    apart = paper(2, "Report", "We build networks for graph chemistry, with care and rigour.")
    assert ranked("graph networks", apart, adjacent) == [1, 2]


def test_popularity_is_a_small_boost_that_breaks_near_ties():
    quiet = paper(1, "Diffusion study", popularity=0)
    popular = paper(2, "Diffusion study", popularity=300)
    assert ranked("diffusion", quiet, popular) == [2, 1]


def test_popularity_does_not_beat_a_title_hit():
    famous_abstract_hit = paper(1, "A study", FILLER + "We use diffusion.", popularity=5000)
    title_hit = paper(2, "Diffusion study", popularity=None)
    assert ranked("diffusion", famous_abstract_hit, title_hit) == [2, 1]


def test_ties_are_broken_by_paper_key_and_results_are_deterministic():
    docs = [paper(k, "Diffusion study") for k in (9, 3, 5)]
    assert ranked("diffusion", *docs) == [3, 5, 9]
    index = PaperIndex.build(docs)
    profile = Profile(1, ("diffusion",))
    assert match_profile(index, profile) == match_profile(PaperIndex.build(list(reversed(docs))), profile)


def test_only_the_top_limit_are_kept_best_first():
    docs = [paper(k, "Diffusion " * (k % 4 + 1)) for k in range(1, 30)]
    matches = match_profile(PaperIndex.build(docs), Profile(1, ("diffusion",), limit=5))
    assert len(matches) == 5
    scores = [m.score for m in matches]
    assert scores == sorted(scores, reverse=True)


def test_a_paper_matching_two_interests_ranks_higher_and_lists_both_reasons():
    both = paper(1, "Grokking in diffusion models")
    one = paper(2, "Grokking in transformers")
    matches = match_profile(PaperIndex.build([both, one]), Profile(1, ("diffusion", "grokking")))
    assert [m.paper_key for m in matches] == [1, 2]
    assert matches[0].reasons == (Reason("diffusion", ("diffusion",)), Reason("grokking", ("grokking",)))
    assert matches[0].interests == ("diffusion", "grokking")
    assert matches[1].reasons == (Reason("grokking", ("grokking",)),)


def test_reasons_name_the_words_as_the_user_wrote_them():
    doc = paper(1, "Efficient LLM agents", FILLER + "Agents use tools.")
    (match,) = match_profile(PaperIndex.build([doc]), Profile(1, ('LLMs "tool use" OR Agents',)))
    assert match.reasons == (Reason('LLMs "tool use" OR Agents', ("LLMs", "Agents")),)
    assert match.matched_terms == ("LLMs", "Agents")


def test_only_profiles_with_a_match_appear_and_muting_is_per_profile():
    docs = [paper(1, "Diffusion for medical imaging"), paper(2, "Graph networks")]
    profiles = [
        Profile(10, ("diffusion",)),
        Profile(11, ("diffusion",), muted=("medical",)),
        Profile(12, ("quantum",)),
        Profile(13, ("graph", "diffusion"), limit=1),
    ]
    stats: dict = {}
    result = match_profiles(PaperIndex.build(docs), profiles, stats=stats)
    assert set(result) == {10, 13}
    assert [m.paper_key for m in result[10]] == [1]
    assert len(result[13]) == 1
    assert stats["distinct_queries"] == 3  # "diffusion" compiled once for three subscribers


def test_batch_and_single_profile_give_the_same_matches():
    docs = [paper(k, t) for k, t in enumerate(["Video diffusion", "Graph diffusion", "Graph networks"], 1)]
    index = PaperIndex.build(docs)
    profiles = [Profile(1, ("diffusion", "graph")), Profile(2, ('"graph networks"',), limit=1)]
    batch = match_profiles(index, profiles)
    assert batch == {p.key: match_profile(index, p) for p in profiles}


def test_title_spans_point_into_the_original_title():
    title = "Schölkopf’s “LLMs”: Fine-Tuning for Café Owners"
    (match,) = match_profile(PaperIndex.build([paper(1, title)]), Profile(1, ('"fine tuning" llm cafe',)))
    assert [title[a:b] for a, b in match.title_spans] == ["LLMs", "Fine-Tuning", "Café"]


def test_snippet_is_cut_around_the_best_hit_with_ellipses():
    before = " ".join(f"word{i}" for i in range(120))
    after = " ".join(f"tail{i}" for i in range(120))
    abstract = f"{before} Here grokking appears once. {after}"
    (match,) = match_profile(PaperIndex.build([paper(1, "A study", abstract)]), Profile(1, ("grokking",)))
    snippet = match.snippet
    assert snippet.startswith("…") and snippet.endswith("…")
    assert len(snippet) <= 302
    assert snippet[1:].split()[0] in before.split()  # cut at a word boundary
    assert snippet[:-1].split()[-1] in after.split()
    assert [snippet[a:b] for a, b in match.snippet_spans] == ["grokking"]


def test_snippet_prefers_the_rarest_matched_word_over_the_first_sentence():
    docs = [paper(k, f"Other {k}", "We use models here.") for k in range(10, 15)]
    abstract = "We use models. " * 30 + "Then we see grokking with models."
    target = paper(1, "Target", abstract)
    matches = match_profile(PaperIndex.build([target, *docs]), Profile(1, ("models grokking",)))
    first = next(m for m in matches if m.paper_key == 1)
    spans = [first.snippet[a:b] for a, b in first.snippet_spans]
    assert "grokking" in spans
    assert first.snippet.startswith("…")


def test_a_short_abstract_is_the_whole_snippet():
    doc = paper(1, "Title", "Grokking is delayed generalization.")
    (match,) = match_profile(PaperIndex.build([doc]), Profile(1, ('"delayed generalization"',)))
    assert match.snippet == "Grokking is delayed generalization."
    assert [match.snippet[a:b] for a, b in match.snippet_spans] == ["delayed generalization"]


def test_a_match_equals_and_pickles_as_a_plain_match():
    (match,) = match_profile(PaperIndex.build([paper(1, "Video diffusion")]), Profile(1, ("diffusion",)))
    plain = Match(match.paper_key, match.score, match.reasons, match.title_spans, match.snippet, match.snippet_spans)
    assert match == plain
    clone = pickle.loads(pickle.dumps(match))
    assert type(clone) is Match
    assert clone == plain


def test_a_match_works_with_dataclass_helpers():
    (match,) = match_profile(PaperIndex.build([paper(1, "Video diffusion")]), Profile(1, ("diffusion",)))
    changed = dataclasses.replace(match, score=99.0)
    assert changed.score == 99.0 and changed.reasons == match.reasons and changed.snippet == match.snippet
    assert dataclasses.asdict(match)["paper_key"] == 1
    assert "snippet=" in repr(match)


def test_an_empty_index_or_no_profiles_match_nothing():
    assert match_profiles(PaperIndex.build([]), [Profile(1, ("diffusion",))]) == {}
    assert match_profiles(PaperIndex.build([paper(1, "Diffusion")]), []) == {}
    assert len(PaperIndex.build([paper(1, "Diffusion"), paper(2, "x")])) == 2


def test_an_interest_or_muted_word_listed_twice_counts_once():
    docs = [paper(1, "Video diffusion"), paper(2, "Medical diffusion")]
    index = PaperIndex.build(docs)
    once = match_profile(index, Profile(1, ("diffusion",), muted=("medical",)))
    twice = match_profile(index, Profile(1, ("diffusion", "diffusion"), muted=("medical", "medical")))
    assert twice == once
    assert [m.paper_key for m in twice] == [1]
    assert twice[0].reasons == (Reason("diffusion", ("diffusion",)),)


def test_an_index_survives_pickling_for_a_cache():
    index = PaperIndex.build([paper(1, "Video diffusion"), paper(2, "Graph networks")])
    warm = match_profile(index, Profile(1, ("diffusion",)))[0].snippet  # fills the caches
    assert warm
    clone = pickle.loads(pickle.dumps(index))
    assert match_profile(clone, Profile(1, ("diffusion",))) == match_profile(index, Profile(1, ("diffusion",)))
