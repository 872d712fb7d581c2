"""The view: what the contract refuses, and what it accepts in place of tuples."""

from __future__ import annotations

from dataclasses import replace

import pytest

from digest.email import digest_html_render, digest_message_build, email_caches_clear
from digest.email import view as email_view
from tests.digest.email.email_samples import (
    LINKS,
    ada_email,
)

pytestmark = pytest.mark.usefixtures("email_settings")


def test_a_missing_unsubscribe_link_is_refused():
    with pytest.raises(ValueError, match="unsubscribe_url"):
        digest_message_build(ada_email(links=replace(LINKS, unsubscribe_url="/u/relative/")))


def test_an_unknown_email_kind_is_refused():
    with pytest.raises(ValueError, match="kind"):
        digest_message_build(ada_email(kind="loud"))


def test_feedback_links_given_as_lists_render_like_tuples():
    item = ada_email().items[0]
    as_lists = replace(item, actions=[list(pair) for pair in item.actions])
    assert digest_html_render(ada_email(items=(as_lists,))) == digest_html_render(ada_email(items=(item,)))


def test_a_type_error_inside_card_cleaning_is_not_taken_for_unhashable_input(monkeypatch):
    """Only unhashable input (lists where the contract says tuples) is retried; a real bug surfaces as it is."""

    def broken(*args, **kwargs):
        raise TypeError("a bug in the cleaning code")

    email_caches_clear()
    monkeypatch.setattr(email_view, "spans_clean", broken)

    with pytest.raises(TypeError, match="a bug in the cleaning code") as raised:
        digest_html_render(ada_email())
    assert raised.value.__context__ is None, "raised once, not again while handling a first TypeError"


def test_readers_whose_items_show_the_same_share_one_card_key():
    item = ada_email().items[0]
    day = ada_email().digest_date
    other_reader = replace(item, actions=(("More like this", "https://paperboy.example/f/other"),))
    other_words = replace(item, matched_terms=("something", "else"))  # the why line names interests instead

    key = email_view.CardKey.of(item, day, 360)

    assert email_view.CardKey.of(other_reader, day, 360) == key
    assert email_view.CardKey.of(other_words, day, 360) == key
    assert email_view.CardKey.of(replace(item, interests=("video",)), day, 360) != key
    assert email_view.card_get(other_reader, day, 360) is email_view.card_get(item, day, 360)


def test_a_card_key_takes_each_field_from_the_item_field_of_that_name():
    """CardKey.of fills the fields by position (for speed): a reordered field must not go unnoticed."""
    item = replace(
        ada_email().items[0],
        paper_key=7,
        title="the title",
        url="https://e.example/abs",
        pdf_url="https://e.example/pdf",
        hf_url="https://e.example/hf",
        authors=("An Author",),
        categories=("cs.LG",),
        popularity=5,
        suggested=True,
        snippet="the snippet",
        title_spans=((0, 3),),
        snippet_spans=((4, 11),),
        interests=("an interest",),
        near_miss="a near miss",
        matched_as=("LLM, as 'large language model'",),
    )
    day = ada_email().digest_date

    key = email_view.CardKey.of(item, day, 240)

    expected = {name: getattr(item, name) for name in email_view.CardKey._fields if hasattr(item, name)}
    assert key._asdict() == {**expected, "day": day, "snippet_limit": 240, "matched_terms": (), "weekly": False}


def test_an_item_with_lists_where_the_contract_says_tuples_renders_like_tuples():
    item = ada_email().items[0]
    as_lists = replace(
        item,
        authors=list(item.authors),
        title_spans=[list(span) for span in item.title_spans],
        snippet_spans=[list(span) for span in item.snippet_spans],
        interests=list(item.interests),
    )
    email_caches_clear()

    assert digest_html_render(ada_email(items=(as_lists,))) == digest_html_render(ada_email(items=(item,)))
