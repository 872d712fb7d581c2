"""A digest's subject reads as words in an inbox list: no query syntax, and a test digest says it is one."""

from __future__ import annotations

import pytest

from digest.email import digest_message_build, digest_subject_render
from digest.matching.phrasing import query_phrase
from tests.digest.email_samples import ada_email


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


def test_the_subject_shows_interests_as_words_not_query_syntax():
    from dataclasses import replace

    email = ada_email()
    syntax = ('author:"Elena Petrova" OR author:Hale', "diffusion -medical")
    items = tuple(replace(item, interests=syntax[: 1 + n % 2]) for n, item in enumerate(email.items))
    subject = digest_subject_render(replace(email, items=items, interests=syntax))
    assert subject == "4 new papers on Elena Petrova (author) or Hale (author), diffusion"


def test_a_test_digest_says_test_in_its_subject_and_a_daily_one_does_not(settings):
    settings.PAPERBOY_LIST_ID = "Paperboy daily digest <digest.localhost>"
    daily = digest_message_build(ada_email())
    test = digest_message_build(ada_email(test=True))
    assert test.subject == "Test: " + daily.subject
    assert not daily.subject.startswith("Test")
