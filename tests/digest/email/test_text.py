"""The plain-text part: golden files, 72-column wrapping, and links as numbered references.

The golden files were regenerated deliberately for issue 14 (the text part was 42 % URLs, 27 lines per
paper): each paper is now a few lines with its links and feedback as labels with reference numbers, and
the URLs are listed once at the end."""

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
        assert len(line) <= 72 or re.fullmatch(r"\s*(\[\d+\] )?https?://\S+", line), line
    assert re.search(r"^12\. ", text, re.MULTILINE), "papers are numbered"
    assert re.search(r"^   Abstract \[1\]", text, re.MULTILINE) and re.search(
        r"^\[1\] https://arxiv.org/abs/", text, re.M
    )


def test_each_paper_is_a_few_lines_and_its_urls_wait_in_the_numbered_list_at_the_end():
    text = digest_text_render(ada_email())
    papers, _, rest = text.partition("\n[1] ")
    body = papers.split("\n\n", 2)[2]  # from the first paper on
    assert "http" not in body, "no URL among the papers"
    per_paper = [len(block.strip("\n").splitlines()) for block in re.split(r"\n(?=\d+\. )", body)]
    assert max(per_paper) <= 16, per_paper  # 27 before; 5 of these are the abstract's opening
    urls = re.findall(r"https?://\S+", text)
    assert len(re.findall(r"^\[\d+\] https?://", "[1] " + rest, re.MULTILINE)) == 26
    assert sum(map(len, urls)) / len(text) < 0.75  # the list at the end is URLs; the papers are text


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
