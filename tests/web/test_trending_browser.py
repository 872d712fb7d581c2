"""A trending subscriber ticks categories faster than the preview throttle allows, in a real Chromium."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from digest.models import Subscription
from tests import factories
from tests.web.test_browser import DESKTOP, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.django_db(transaction=True)
def test_ticking_faster_than_the_throttle_still_ends_on_the_list_of_the_last_tick(browser, live_server, settings):
    """Each tick asks for the list again and the throttle turns the surplus away (429): the script asks
    again after ``Retry-After``, so the list shown is always that of the categories ticked last."""
    settings.PAPERBOY_PREVIEW_RATE = 2
    settings.PAPERBOY_PREVIEW_RATE_WINDOW = 2
    now = timezone.now()
    factories.paper_make(
        title="The Paper Everyone Upvoted", popularity=128, categories=["cs.CV"], ingested_at=now - timedelta(hours=2)
    )
    factories.paper_make(
        title="A Quieter Paper", popularity=12, categories=["cs.CL"], ingested_at=now - timedelta(hours=3)
    )
    tess = factories.subscriber_make(email="tess@example.org", interests=[])
    Subscription.objects.filter(id=tess.id).update(digest=Subscription.Digest.TRENDING)

    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    refused: list[int] = []
    page.on("response", lambda r: "/trending/preview/" in r.url and r.status == 429 and refused.append(r.status))
    sign_in(page, live_server, "tess@example.org")
    trending = page.locator("#trending")
    listed = trending.locator("[data-trending-preview]")
    listed.get_by_text("The Paper Everyone Upvoted").wait_for()

    box = trending.get_by_label("cs.CL")
    for _ in range(3):
        box.check()
        box.uncheck()
    box.check()  # the last tick: cs.CL only

    listed.get_by_text("The Paper Everyone Upvoted").wait_for(state="detached")
    assert listed.get_by_text("A Quieter Paper").is_visible()
    assert refused, "the throttle turned some ticks away"
    assert "wait a moment" not in listed.inner_text(), "the refusal is not left on the page"
    context.close()
    assert problems == []
