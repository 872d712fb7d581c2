"""A query read as words, for subject lines (digest/matching/phrasing.py)."""

from __future__ import annotations

import pytest

from digest.matching.phrasing import query_phrase


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("author:Petrova", "Petrova (author)"),
        ('author:"Elena Petrova"', "Elena Petrova (author)"),
        ("robot OR robotics", "robot or robotics"),
        ('"reinforcement learning" -survey', '"reinforcement learning"'),
        ("(diffusion OR flow) -medical", "diffusion or flow"),
        ("category:cs.RO manipulation", "cs.RO manipulation"),
        ("title:transformer", "transformer"),
        ("reasoning LLM", "reasoning LLM"),
    ],
)
def test_a_query_reads_as_words(query, words):
    assert query_phrase(query) == words
