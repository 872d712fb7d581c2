"""The interests page on a 375 px phone and a 1280 px desktop, measured in a real Chromium.

On a phone, typing in the query box visibly updates a preview (a live count right under the box, and
the preview panel next, before the query help and delivery settings); the page is a page, not a feed;
logo, navigation and content share one left edge. On a desktop the query box gets the whole row.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def reader_page(browser, live_server, transactional_db):
    """Ada, with two interests and a busy week of papers, signed in to a live server in Chromium."""
    now = timezone.now()
    for n in range(14):
        factories.paper_make(
            title=f"Diffusion {'Video' if n % 2 else 'Medical'} Study {n}: Scaling Sparse Attention for Long Sequences",
            abstract="We study diffusion models for video generation with sparse attention. " * 4,
            ingested_at=now - timedelta(hours=n + 1),
        )
    ada = factories.subscriber_make(email="ada@example.org", interests=["diffusion", '"video generation"'])
    client = Client()
    client.force_login(ada.user)
    context = browser.new_context(viewport=PHONE)
    context.set_default_timeout(15_000)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    page.goto(live_server.url + "/preferences/")
    try:
        yield page
    finally:
        context.close()


def box(page, selector: str) -> dict:
    return page.locator(selector).first.evaluate(
        "el => { const r = el.getBoundingClientRect(); return {x: r.x, y: r.y + window.scrollY, w: r.width, "
        "bottom: r.bottom + window.scrollY}; }"
    )


def test_on_a_phone_typing_visibly_updates_the_preview_and_the_page_stays_short(reader_page):
    page = reader_page
    assert_the_page_is_a_page_not_a_feed(page)
    assert_one_left_edge(page)
    query = page.get_by_label("Add an interest")
    query.scroll_into_view_if_needed()
    query.click()
    query.press_sequentially("diffusion video -medical", delay=10)
    status = page.locator("[data-preview-status]")
    status.filter(has_text="matched in the last 7 days").wait_for()
    # The count sits right under the box, inside the screen the person is typing on.
    assert status.is_visible()
    in_view = status.evaluate("el => { const r = el.getBoundingClientRect(); return r.top >= 0 && r.bottom <= 812; }")
    assert in_view
    assert box(page, "[data-preview-status]")["y"] - box(page, "#id_query")["bottom"] < 40
    # The preview panel comes next: right after the interests card, before the query help and delivery.
    interests, panel = box(page, "#interests"), box(page, "[data-preview-panel]")
    assert 0 <= panel["y"] - interests["bottom"] < 60
    assert panel["bottom"] < box(page, "#query-help-card")["y"] < box(page, "#delivery")["y"]
    # The query in the panel's heading never breaks inside a word: "-medical" stays whole.
    heading = page.locator("[data-preview-panel] h2 code.query")
    heading.wait_for()
    assert heading.locator(".token").count() == 3
    assert heading.locator(".token").evaluate_all("els => els.every(e => e.getClientRects().length === 1)")


def assert_the_page_is_a_page_not_a_feed(page) -> None:
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 4200, f"the interests page is {height} px tall on a phone"
    # Three papers shown per list; the rest are counted, not dropped silently.
    shown = page.locator("[data-preview-panel] .preview-list > li:visible").count()
    assert shown == 3
    assert page.locator("[data-preview-panel] .preview-more").first.is_visible()


def assert_one_left_edge(page) -> None:
    # Logo, navigation and content share one left edge.
    logo = box(page, ".brand")["x"]
    nav_text = page.locator(".site-nav a").first.evaluate(
        "el => el.getBoundingClientRect().x + parseFloat(getComputedStyle(el).paddingLeft)"
    )
    content = box(page, "main h1")["x"]
    assert abs(logo - content) <= 1 and abs(nav_text - content) <= 1, (logo, nav_text, content)


def test_the_query_box_gets_the_whole_row_on_a_desktop(reader_page):
    page = reader_page
    page.set_viewport_size(DESKTOP)
    query = box(page, "#id_query")
    card = box(page, "#interests")
    assert query["w"] >= card["w"] - 60, (query["w"], card["w"])
    assert query["w"] > 480
