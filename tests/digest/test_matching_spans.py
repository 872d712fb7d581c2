"""One span merger (``digest.matching.highlight.spans_merge``) for the matching engine, the email and the
live preview. There used to be three, and they disagreed on spans that touch ([0, 4) then [4, 8)): the
engine kept them apart (``start < end``), the email and the preview merged them (``start <= end``).

Merging won: one highlighted run is one ``<mark>``, the email's bytes (and its golden files) already came
from the merging rule, and the engine never makes touching spans -- its tokens are maximal runs of word
characters, so two of them always have a character between them -- so its output did not change either.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from digest.email.clean import spans_clean
from digest.matching.highlight import spans_merge
from digest.matching.index import token_spans
from digest.selectors.preview import segments

SPANS = st.lists(st.tuples(st.integers(-5, 40), st.integers(-5, 40)), max_size=8)


def merge_kept_apart(spans: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """The engine's old rule, for comparison: touching spans stay two."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def test_touching_spans_merge_into_one_highlight():
    assert spans_merge([(4, 8), (0, 4)]) == ((0, 8),)
    assert spans_merge([(0, 3), (5, 9)]) == ((0, 3), (5, 9))


def test_spans_are_clipped_to_the_text_and_empty_ones_dropped():
    assert spans_merge([(-3, 2), (8, 99), (5, 5), (7, 6)], 10) == ((0, 2), (8, 10))


@given(st.text(alphabet=st.sampled_from([*"ab1 -'_.é", "ﬁ", "\u0301"]), max_size=30), st.data())
def test_the_matching_engine_never_makes_touching_spans_so_its_highlights_did_not_change(text, data):
    tokens = token_spans(text)
    hits = data.draw(st.lists(st.sampled_from(tokens), max_size=6)) if tokens else []
    assert spans_merge(hits) == merge_kept_apart(hits)


@given(SPANS)
def test_the_email_and_the_preview_mark_exactly_the_merged_spans(spans):
    text = "deep diffusion models for video generation"
    merged = spans_merge(spans, len(text))

    _, email_spans = spans_clean(text, tuple(spans))
    marked, pos = [], 0
    for segment in segments(text, spans):
        if segment.marked:
            marked.append((pos, pos + len(segment.text)))
        pos += len(segment.text)

    assert email_spans == merged
    assert tuple(marked) == merged
