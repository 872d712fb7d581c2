"""One ranking from keyword matches and library matches."""

from __future__ import annotations

from digest.library.combine import matches_combine, min_max
from digest.library.records import LikeMatch, Resemblance
from digest.matching import Match, Reason


def keyword(key: int, score: float) -> Match:
    return Match(key, score, (Reason("diffusion", ("diffusion",)),), ((0, 9),), f"snippet {key}", ())


def like(key: int, score: float) -> LikeMatch:
    return LikeMatch(key, score, (Resemblance("arxiv:1", "Denoising Diffusion Probabilistic Models", 0.4),))


def test_a_paper_found_both_ways_ranks_first_and_keeps_both_reasons():
    out = matches_combine(
        keyword=[keyword(1, 9.0), keyword(2, 6.0), keyword(4, 1.0)],
        like=[like(3, 1.2), like(2, 1.0), like(5, 0.2)],
        limit=3,
        abstract_of={3: "About 3."},
    )
    # Min-max over each list: 1 -> 1.0, 2 -> 0.625 + 0.8, 3 -> 1.0 (4 and 5 are the weakest, 0).
    assert [m.paper_key for m in out] == [2, 1, 3]
    assert [r.interest for r in out[0].reasons] == [
        "diffusion",
        "like ‘Denoising Diffusion Probabilistic Models’, from your library",
    ]
    assert out[0].title_spans == ((0, 9),)  # the keyword highlights stay
    assert out[2].reasons[0].terms == () and out[2].snippet == "About 3."


def test_a_close_library_paper_outranks_a_keyword_match_that_barely_made_the_list():
    out = matches_combine(
        keyword=[keyword(1, 9.0), keyword(2, 8.0), keyword(3, 2.0), keyword(4, 1.0)],
        like=[like(5, 1.2), like(6, 1.1), like(7, 0.1)],
        limit=4,
        abstract_of={5: "Five.", 6: "Six."},
    )
    assert [m.paper_key for m in out] == [1, 5, 6, 2]


def test_min_max_maps_a_list_onto_zero_to_one():
    assert min_max([4.0, 3.0, 2.0]) == [1.0, 0.5, 0.0]
    assert min_max([2.0, 2.0]) == [1.0, 1.0]
    assert min_max([]) == []


def test_without_library_matches_the_keyword_order_is_kept():
    found = [keyword(1, 9.0), keyword(2, 6.0), keyword(3, 1.0)]
    assert matches_combine(keyword=found, like=[], limit=2, abstract_of={}) == found[:2]


def test_a_library_alone_makes_a_digest():
    out = matches_combine(keyword=[], like=[like(5, 1.1), like(4, 0.5)], limit=10, abstract_of={5: "Five.", 4: "Four."})
    assert [m.paper_key for m in out] == [5, 4]
    assert all(m.reasons and not m.reasons[0].terms for m in out)
