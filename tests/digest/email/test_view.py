"""The view: what the contract refuses, and what it accepts in place of tuples."""

from __future__ import annotations

from dataclasses import replace

import pytest

from digest.email import (
    digest_html_render,
    digest_message_build,
)
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
