"""A digest's subject reads as words in an inbox list: no query syntax, and a test digest says it is one."""

from __future__ import annotations

from dataclasses import replace

from digest.email import digest_message_build, digest_subject_render
from tests.digest.email.email_samples import ada_email


def test_the_subject_shows_interests_as_words_not_query_syntax():
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
