"""A mail gateway that opens every link in a headless browser (scripts and all) records nothing:
only a reader's click on the confirm page's button does (security review M4).

Real Chromium against the live server, like a corporate link scanner: it loads Ada's "Follow" link,
waits, and leaves.
"""

from __future__ import annotations

import pytest

from digest.models import Feedback, Interest
from tests.feedback.test_links import links_for, path_of

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_scanner_running_scripts_follows_and_likes_nothing(browser, live_server, ada_digest):
    links = links_for(ada_digest)
    interests_before = Interest.objects.filter(subscription=ada_digest.subscription).count()
    # The scanner opens the three links side by side, each in a window of its own, and leaves them open
    # longer than the page used to wait before submitting itself (1.5 s, and only when visible).
    scanned = []
    for url in (links.follow_urls[0][1], links.more_url, links.mute_urls[0][1]):
        page = browser.new_page()
        page.goto(live_server.url + path_of(url))
        assert page.get_by_role("button", name="Yes, confirm").is_visible()
        assert page.evaluate("document.visibilityState") == "visible"
        scanned.append(page)
    scanned[-1].wait_for_timeout(3000)
    for page in scanned:
        assert page.get_by_role("button", name="Yes, confirm").is_visible()  # still asking: nothing submitted
        page.close()

    assert Interest.objects.filter(subscription=ada_digest.subscription).count() == interests_before
    assert not Feedback.objects.exists()
    ada_digest.subscription.refresh_from_db()
    assert ada_digest.subscription.muted_words == []

    page = browser.new_page()
    page.goto(live_server.url + path_of(links.follow_urls[0][1]))
    page.get_by_role("button", name="Yes, confirm").click()
    page.wait_for_load_state("load")
    assert Interest.objects.filter(subscription=ada_digest.subscription).count() == interests_before + 1
