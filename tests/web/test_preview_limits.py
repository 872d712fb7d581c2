"""The live preview cannot be turned against the site (security review M8): a rate and one preview
at a time per user, a bounded amount of work per request, and the combined preview reused."""

from __future__ import annotations

import pytest

from digest import throttle
from digest.models import Interest
from digest.selectors import preview as preview_selectors

pytestmark = pytest.mark.django_db

# 31 words: with one more, the most a query may have (32).
BIG_QUERY = " OR ".join(f"word{n}" for n in range(31))


def preview(client, q="diffusion"):
    return client.get("/preview/", {"q": q, "fragment": "1"})


def test_previews_beyond_the_rate_are_refused_with_a_clear_message(ada_client, settings, recent_papers):
    settings.PAPERBOY_PREVIEW_RATE = 5
    answers = [preview(ada_client) for _ in range(7)]

    assert [a.status_code for a in answers] == [200] * 5 + [429] * 2
    assert answers[-1]["Retry-After"]
    assert "wait a moment" in answers[-1].content.decode()


def test_the_rate_is_per_user(ada_client, bo_client, settings, recent_papers):
    settings.PAPERBOY_PREVIEW_RATE = 2
    for _ in range(3):
        preview(ada_client)
    assert preview(bo_client).status_code == 200


def test_a_second_preview_while_the_first_still_runs_is_refused(ada_client, ada_sub, settings, recent_papers):
    # The first request holds the user's one slot while it runs (here: held by the test).
    with throttle.throttle_hold(scope="preview", key=str(ada_sub.user.pk), rate=100, window_seconds=10) as running:
        assert running is None
        second = preview(ada_client)
    assert second.status_code == 429
    assert "Still working on your previous preview" in second.content.decode()
    assert preview(ada_client).status_code == 200  # the slot is free again once the first ends


def test_the_page_without_script_gets_a_whole_page_when_throttled(ada_client, settings, recent_papers):
    settings.PAPERBOY_PREVIEW_RATE = 1
    ada_client.post_form("/preview/", {"q": "diffusion"})
    page = ada_client.post_form("/preview/", {"q": "diffusion"})
    assert page.status_code == 429
    assert "<html" in page.content.decode() and "Back to your preferences" in page.content.decode()


def test_twenty_interests_of_32_words_are_cut_to_the_budget_and_the_preview_says_so(ada_sub, recent_papers):
    queries = [f"{BIG_QUERY} OR diffusion{n}" for n in range(20)]
    result = preview_selectors.preview_digest(interests=queries, muted=[], max_papers=10)

    assert "covers 3 of your 20 interests" in result.note
    assert "your digest itself uses them all" in result.note


def test_a_normal_subscription_is_previewed_whole(ada_client, ada_sub, recent_papers):
    result = preview_selectors.preview_digest(
        interests=["diffusion", '"video generation"', "reasoning OR LLM"], muted=[], max_papers=10
    )
    assert result.note == ""
    assert result.count >= 2


def test_the_combined_preview_is_reused_until_something_changes(ada_client, ada_sub, recent_papers, monkeypatch):
    calls: list[int] = []
    real = preview_selectors.match_profiles

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(preview_selectors, "match_profiles", counting)
    ada_client.get("/preferences/")
    ada_client.get("/preferences/")
    assert len(calls) == 1

    Interest.objects.create(subscription=ada_sub, query="reasoning")
    ada_client.get("/preferences/")
    assert len(calls) == 2


def test_the_panel_shows_the_note_when_the_preview_was_cut(ada_client, ada_sub, recent_papers):
    for n in range(6):
        Interest.objects.create(subscription=ada_sub, query=f"{BIG_QUERY} OR extra{n}")
    html = preview(ada_client).content.decode()
    assert "This preview covers" in html
