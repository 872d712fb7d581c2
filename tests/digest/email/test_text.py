"""The plain-text part: golden files and 72-column wrapping."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from digest.email import (
    digest_text_render,
    wrap,
)
from tests.digest.email.checks import golden_check
from tests.digest.email.email_samples import (
    ada_email,
    corpus_email,
    quiet_email,
)

pytestmark = pytest.mark.usefixtures("email_settings")


def test_plain_text_part_matches_the_golden_file():
    golden_check("ada_digest.txt", digest_text_render(ada_email()))


def test_plain_text_is_wrapped_at_72_columns_except_lone_urls(corpus_path):
    text = digest_text_render(corpus_email(corpus_path, count=12))
    for line in text.splitlines():
        assert len(line) <= 72 or re.fullmatch(r"\s*https?://\S+", line), line
    assert re.search(r"^12\. ", text, re.MULTILINE), "papers are numbered"
    assert "   Abstract: https://arxiv.org/abs/" in text


@given(
    st.lists(st.sampled_from(["a", "bb", "word", "é—", "x" * 70, "https://example.org/" + "y" * 80]), max_size=40),
    st.sampled_from([("", ""), ("   ", "   "), ("12. ", "    ")]),
)
def test_regex_wrapping_agrees_with_word_by_word_wrapping(words, indents):
    text = " ".join(words)
    first, rest = indents
    assert wrap.wrap.__wrapped__(text, first, rest) == wrap._wrap_words(text, first, rest, 72)


def test_quiet_day_plain_text_matches_the_golden_file():
    golden_check("ada_quiet.txt", digest_text_render(quiet_email()))
