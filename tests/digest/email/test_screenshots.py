"""Screenshots of the HTML digest in headless Chromium: phone and desktop widths, light and dark.

With PAPERBOY_SCREENSHOTS=1 (``make screenshots``) writes docs/screenshots/email-<width>-<scheme>.png (and
email-quiet-375-light.png, the quiet-day note; email-trending-375-<scheme>.png, a trending digest, and
email-trending-section-375-light.png) so anyone can look at the design without a mail client; always
(into a temporary folder otherwise) checks what a reader would notice: no sideways
scrolling on a phone, the phone layout and dark mode really switch on, the feedback links stay small.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from digest.email import digest_html_render
from tests.conftest import CHROMIUM_ARGS, SCREENSHOTS_DIR, chromium_executable
from tests.digest.email.email_samples import ada_email, ada_with_trending_email, quiet_email, trending_email

pytestmark = pytest.mark.browser

# A test run leaves the committed screenshots alone unless asked to retake them.
SHOTS = (
    SCREENSHOTS_DIR
    if os.environ.get("PAPERBOY_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "paperboy-email-shots"
)


@pytest.fixture(scope="module")
def browser():
    executable = chromium_executable()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def email_settings(settings):
    settings.SITE_URL = "https://paperboy.example"
    settings.PAPERBOY_POSTAL_ADDRESS = "Paperboy · 1 Example Street · Springfield · hello@paperboy.example"


def shot(browser, *, width: int, scheme: str, email=None, name: str = "email"):
    page = browser.new_page(viewport={"width": width, "height": 800}, color_scheme=scheme)
    page.route("**/*", lambda route: route.abort())  # the email needs nothing from the network
    page.set_content(digest_html_render(email or ada_email()), wait_until="load")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{width}-{scheme}.png"), full_page=True)
    return page


def style(page, selector: str, prop: str) -> str:
    return page.eval_on_selector(selector, f"el => getComputedStyle(el).getPropertyValue('{prop}')")


@pytest.mark.usefixtures("email_settings")
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_phone_width_reads_without_sideways_scrolling(browser, scheme):
    page = shot(browser, width=375, scheme=scheme)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert style(page, ".card-title", "font-size") == "17px", "the phone layout's media query applies"
    assert style(page, ".cards", "padding-left") == "16px"
    assert style(page, ".action", "font-size") == "12px", "feedback links stay small"
    assert page.locator("a.action").count() == 16
    page.close()


@pytest.mark.usefixtures("email_settings")
def test_quiet_day_note_reads_on_a_phone(browser):
    page = shot(browser, width=375, scheme="light", email=quiet_email(), name="email-quiet")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert page.locator("h1").inner_text() == "Nothing new matched your interests today"
    assert page.locator(".near-miss").count() == 3
    assert style(page, ".near-miss", "color") == "rgb(146, 64, 14)"
    page.close()


@pytest.mark.usefixtures("email_settings")
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_desktop_width_is_a_single_column_of_at_most_640_pixels(browser, scheme):
    page = shot(browser, width=800, scheme=scheme)
    box = page.eval_on_selector(".container", "el => el.getBoundingClientRect().width")
    assert box == 640
    assert style(page, ".card-title", "font-size") == "18px"
    expected = "rgb(21, 26, 33)" if scheme == "dark" else "rgb(255, 255, 255)"
    assert style(page, ".container", "background-color") == expected
    mark = "rgb(133, 77, 14)" if scheme == "dark" else "rgb(254, 240, 138)"
    assert style(page, "mark", "background-color") == mark
    action = "rgb(163, 173, 186)" if scheme == "dark" else "rgb(107, 114, 128)"
    assert style(page, ".action", "color") == action, "feedback links are grey, not link blue"
    page.close()


@pytest.mark.usefixtures("email_settings")
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_trending_digest_reads_on_a_phone_in_light_and_dark(browser, scheme):
    page = shot(browser, width=375, scheme=scheme, email=trending_email(), name="email-trending")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert page.locator("h1").inner_text() == "The 3 most upvoted papers today"
    assert page.locator(".why").nth(1).inner_text() == "▲ 128 upvotes · #2 on Hugging Face today"
    text = "rgb(163, 173, 186)" if scheme == "dark" else "rgb(107, 114, 128)"
    assert style(page, ".why", "color") == text
    page.close()


@pytest.mark.usefixtures("email_settings")
def test_the_trending_section_stands_apart_from_the_matches(browser):
    page = shot(browser, width=375, scheme="light", email=ada_with_trending_email(), name="email-trending-section")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert page.locator(".section-title").inner_text().lower() == "trending today"
    assert style(page, ".section-title", "color") == "rgb(180, 83, 9)"
    page.close()
