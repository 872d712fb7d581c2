"""The subscriber's whole journey in a real Chromium, against a live server and a real SMTP sink.

sign up → verification email over SMTP → follow its link → onboarding (time zone from the browser) →
type an interest and watch the live preview → save → "send me a test digest" → the digest arrives over
SMTP → archive → one-click unsubscribe POST (RFC 8058) → the next day's run sends them nothing.

Every page is also checked at 375 px for horizontal overflow. With PAPERBOY_SCREENSHOTS=1 the test
saves desktop and mobile screenshots of each page to docs/screenshots/ (how the committed ones were made).
"""

from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import User
from digest.models import Delivery, Subscription
from tests import factories
from tests.conftest import SCREENSHOTS_DIR, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DESKTOP = {"width": 1280, "height": 860}
MOBILE = {"width": 375, "height": 812}
PASSWORD = "a long and unusual passphrase 42"
SCREENSHOTS = SCREENSHOTS_DIR


class Pages:
    """Checks every page at phone width, and saves screenshots when asked to."""

    def __init__(self, page) -> None:
        self.page = page
        self.save = os.environ.get("PAPERBOY_SCREENSHOTS") == "1"
        if self.save:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def check(self, name: str) -> None:
        page = self.page
        page.wait_for_load_state("load")
        self._snap(f"web-{name}-desktop.png", DESKTOP)
        page.set_viewport_size(MOBILE)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{name} scrolls sideways on a 375 px phone ({overflow} px)"
        self._snap(f"web-{name}-mobile.png", MOBILE)
        page.set_viewport_size(DESKTOP)

    def _snap(self, filename: str, viewport: dict) -> None:
        if not self.save:
            return
        # A viewport as tall as the page, rather than full_page=True, so iframes (the sample digest) render.
        page = self.page
        page.set_viewport_size(viewport)
        height = page.evaluate("document.documentElement.scrollHeight")
        page.set_viewport_size({"width": viewport["width"], "height": min(height, 4000)})
        page.wait_for_timeout(150)
        page.screenshot(path=str(SCREENSHOTS / filename))


def sign_in(page, live_server, email: str, password: str = "correct horse battery staple") -> None:
    """Sign in through the login form (``factories.user_make``'s password) and land on the preferences."""
    page.goto(live_server.url + "/accounts/login/?next=/preferences/")
    page.get_by_label(re.compile("^E-?mail", re.I)).fill(email)
    page.get_by_label(re.compile(r"^Password:?$")).fill(password)
    page.get_by_role("button", name=re.compile("sign in|log in", re.I)).click()
    page.wait_for_url(re.compile(r"/preferences/"))


def first_link(message, pattern: str) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(rf"https?://\S*{pattern}\S*", body).group(0)


@pytest.mark.django_db(transaction=True)
def test_a_newcomer_signs_up_reads_a_digest_and_unsubscribes_in_one_click(browser, live_server, smtp_sink, settings):
    settings.SITE_URL = live_server.url  # links in the digest email point at this server
    now = timezone.now()
    factories.paper_make(
        title="Sparse Diffusion Models for Long Video Generation",
        abstract="We scale diffusion models to minute-long video generation with sparse attention.",
        ingested_at=now - timedelta(hours=2),
    )
    factories.paper_make(
        title="Diffusion Priors for Medical Image Reconstruction",
        abstract="A diffusion prior improves medical MRI reconstruction from few measurements.",
        ingested_at=now - timedelta(hours=3),
    )
    factories.paper_make(
        title="Reasoning Traces Make Better Teachers",
        abstract="Distilling the reasoning traces of a large LLM teaches a small one arithmetic.",
        ingested_at=now - timedelta(hours=4),
    )
    control = factories.ada()  # another reader, so the final run shows it really sends digests

    context = browser.new_context(viewport=DESKTOP, timezone_id="Europe/Paris", locale="en-GB")
    context.set_default_timeout(15_000)
    page = context.new_page()
    pages = Pages(page)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    # Rejected forms and the invalid-link page answer 400 on purpose; anything else logged is a problem.
    expected = "the server responded with a status of 400"
    page.on("console", lambda msg: msg.type == "error" and expected not in msg.text and problems.append(msg.text))

    # Landing, with the sample digest from the real templates; the keyboard reaches "skip to content" first.
    page.goto(live_server.url + "/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    assert page.frame_locator("iframe.sample-frame").locator("text=Sparse Diffusion Models").count() >= 1
    pages.check("landing")
    page.get_by_role("link", name="Sign up in a minute").click()

    # Sign up.
    pages.check("signup")
    page.get_by_label("Email").fill("newbie@example.org")
    page.get_by_label(re.compile(r"^Password:?$")).fill(PASSWORD)
    page.get_by_label(re.compile(r"^Password \(again\):?$")).fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    page.get_by_role("heading", name="Check your inbox").wait_for()
    pages.check("verification-sent")

    # The verification email crosses SMTP; its link confirms and logs in, landing on onboarding.
    message = wait_for(
        lambda: next((m for m in smtp_sink.messages() if m["To"] == "newbie@example.org"), None),
        what="the verification email",
    )
    page.goto(first_link(message, "/accounts/confirm-email/"))
    pages.check("confirm-email")
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(re.compile(r"/preferences/$"))
    page.get_by_text("Welcome to Paperboy!").wait_for()
    assert page.locator("#browser-timezone").input_value() == "Europe/Paris"
    pages.check("onboarding")

    # An example chip fills the box and previews it, without leaving the page.
    page.get_by_role("link", name="diffusion video -medical").click()
    query = page.get_by_label("Add an interest")
    assert query.input_value() == "diffusion video -medical"
    page.locator("[data-preview-panel] h2", has_text="Preview of diffusion video -medical").wait_for()
    assert page.url.endswith("/preferences/")
    # The weekday only applies to weekly digests.
    weekday = page.get_by_label("Weekday (weekly digests)")
    assert weekday.is_disabled()
    page.get_by_role("radio", name="Weekly").check()
    assert weekday.is_enabled()
    page.get_by_role("radio", name="Daily").check()

    # Type an interest: the live preview answers while typing, with the matched words highlighted.
    query.fill("")
    query.click()
    query.press_sequentially("diffusion video", delay=20)
    preview = page.locator("[data-preview-panel]")
    preview.get_by_text("papers matched in the last 7 days").or_(
        preview.get_by_text("paper matched in the last 7 days")
    ).wait_for()
    assert preview.locator("mark", has_text="Video").count() >= 1
    assert "Medical Image" not in preview.inner_text().split("Your next digest")[0]
    pages.check("preview-live")

    # A broken query says what is wrong before saving, and saving it is refused.
    query.fill('"video generation')
    preview.locator(".query-error").wait_for()
    page.get_by_role("button", name="Add interest").click()
    page.locator("#id_query_error").wait_for()
    pages.check("query-error")

    # Save a good one: the browser's time zone comes along with the first interest.
    page.get_by_label("Add an interest").fill("diffusion video")
    page.get_by_role("button", name="Add interest").click()
    page.get_by_text("Added “diffusion video”.").wait_for()
    subscription = Subscription.objects.get(user__email="newbie@example.org")
    assert list(subscription.interests.values_list("query", flat=True)) == ["diffusion video"]
    assert subscription.timezone == "Europe/Paris"
    pages.check("preferences")

    # Send a test digest now: it arrives over SMTP.
    page.get_by_role("button", name="Send me a test digest now").click()
    page.get_by_text("is on its way to newbie@example.org").wait_for()
    digest = wait_for(
        lambda: next(
            (m for m in smtp_sink.messages() if m["To"] == "newbie@example.org" and "List-Unsubscribe" in m), None
        ),
        what="the test digest",
    )
    assert "Sparse Diffusion Models for Long Video Generation" in digest.get_body(("html",)).get_content()
    assert digest["Subject"].startswith("Test: ")
    assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # Pressing again within 10 minutes is refused.
    page.get_by_role("button", name="Send me a test digest now").click()
    page.get_by_text("one test digest every 10 minutes").wait_for()

    # The archive lists it and opens it as emailed.
    page.get_by_role("link", name="Archive").click()
    pages.check("archive")
    page.locator(".archive-list a").first.click()
    page.frame_locator("iframe.digest-frame").get_by_text(
        "Sparse Diffusion Models for Long Video Generation"
    ).first.wait_for()
    page.get_by_role("link", name="← All past digests").wait_for()
    pages.check("archived-digest")

    # Other pages a subscriber meets, for the screenshots and the phone-width check.
    for path, name in [
        ("/preview/?q=diffusion+-medical", "preview-no-js"),
        ("/accounts/email/", "account-email"),
        ("/account/delete/", "account-delete"),
    ]:
        page.goto(live_server.url + path)
        pages.check(name)

    # The email's unsubscribe link: GET only asks.
    unsubscribe_url = re.search(r"<(https?://[^>]+)>", digest["List-Unsubscribe"]).group(1)
    page.goto(unsubscribe_url)
    page.get_by_role("heading", name="Unsubscribe?").wait_for()
    pages.check("unsubscribe-confirm")
    subscription.refresh_from_db()
    assert subscription.unsubscribed_at is None

    # The mail provider's one-click POST: no cookies, no CSRF token.
    mail_provider = context.browser.new_context()
    response = mail_provider.request.post(
        unsubscribe_url,
        data="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status == 200
    mail_provider.close()
    subscription.refresh_from_db()
    assert subscription.unsubscribed_at is not None

    page.goto(live_server.url + "/preferences/")
    page.get_by_text("You are unsubscribed.").wait_for()
    pages.check("preferences-unsubscribed")
    page.goto(live_server.url + "/unsubscribe/not-a-real-token/")
    pages.check("link-invalid")

    # The day's digest run: the control reader gets theirs, the unsubscribed newcomer gets nothing.
    sent_before = len(smtp_sink.messages())
    call_command("send_digests", stdout=open(os.devnull, "w"))  # noqa: SIM115
    received = smtp_sink.messages()[sent_before:]
    assert [m["To"] for m in received] == [control.user.email]
    assert not Delivery.objects.filter(subscription=subscription, kind=Delivery.Kind.DIGEST).exists()
    assert User.objects.filter(email="newbie@example.org").exists()

    # Logged out: the entrance pages.
    page.get_by_role("button", name="Log out").click()
    for path, name in [("/accounts/login/", "login"), ("/accounts/password/reset/", "password-reset")]:
        page.goto(live_server.url + path)
        pages.check(name)
    context.close()
    assert problems == []


@pytest.mark.django_db(transaction=True)
def test_a_newcomer_subscribes_to_trending_papers_without_typing_a_query(browser, live_server, smtp_sink, settings):
    """Issue 19: landing → sign up (email and password only) → verify → one button → the trending digest."""
    settings.SITE_URL = live_server.url
    now = timezone.now()
    factories.paper_make(
        title="The Paper Everyone Upvoted", popularity=128, categories=["cs.CV"], ingested_at=now - timedelta(hours=2)
    )
    factories.paper_make(
        title="A Quieter Paper", popularity=12, categories=["cs.CL"], ingested_at=now - timedelta(hours=3)
    )
    context = browser.new_context(viewport=DESKTOP, timezone_id="UTC", locale="en-GB")
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    typed: list[str] = []

    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Sign up in a minute").click()
    for label, value in [
        ("Email", "tess@example.org"),
        (re.compile(r"^Password:?$"), PASSWORD),
        (re.compile(r"^Password \(again\):?$"), PASSWORD),
    ]:
        page.get_by_label(label).fill(value)
        typed.append(value)
    page.get_by_role("button", name="Create my account").click()
    page.get_by_role("heading", name="Check your inbox").wait_for()
    message = wait_for(
        lambda: next((m for m in smtp_sink.messages() if m["To"] == "tess@example.org"), None),
        what="the verification email",
    )
    page.goto(first_link(message, "/accounts/confirm-email/"))
    page.get_by_role("button", name="Confirm").click()  # click 1 after the email's link
    page.wait_for_url(re.compile(r"/preferences/$"))

    # The onboarding page offers trending papers next to the query box; one click, nothing typed.
    page.get_by_role("button", name="Send me trending papers").click()  # click 2
    page.get_by_text("Subscribed to trending papers").wait_for()
    subscription = Subscription.objects.get(user__email="tess@example.org")
    assert subscription.digest == Subscription.Digest.TRENDING
    assert not subscription.interests.exists(), "no query was written"
    assert typed == ["tess@example.org", PASSWORD, PASSWORD], "only the email and the password were typed"
    trending = page.locator("#trending")
    assert trending.get_by_text("The Paper Everyone Upvoted").is_visible()

    # Ticking a category (a click, not typing) narrows the list shown, then saving keeps it.
    trending.get_by_label("cs.CL").check()
    trending.locator("[data-trending-preview]").get_by_text("The Paper Everyone Upvoted").wait_for(state="detached")
    assert trending.get_by_text("A Quieter Paper").is_visible()
    trending.get_by_label("cs.CL").uncheck()
    trending.locator("[data-trending-preview]").get_by_text("The Paper Everyone Upvoted").wait_for()
    page.set_viewport_size(MOBILE)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the preferences page scrolls sideways on a phone ({overflow} px)"
    if os.environ.get("PAPERBOY_SCREENSHOTS") == "1":
        page.locator("#trending").screenshot(path=str(SCREENSHOTS / "web-trending-mobile.png"))
    page.set_viewport_size(DESKTOP)

    # The morning run sends the trending digest over SMTP.
    Subscription.objects.filter(id=subscription.id).update(send_hour=0, timezone="UTC")
    call_command("send_digests", stdout=open(os.devnull, "w"))  # noqa: SIM115
    digest = wait_for(
        lambda: next(
            (m for m in smtp_sink.messages() if m["To"] == "tess@example.org" and "List-Unsubscribe" in m), None
        ),
        what="the trending digest",
    )
    assert digest["Subject"] == "Trending today: the 2 most upvoted papers"
    plain = " ".join(digest.get_body(("plain",)).get_content().split())
    assert "▲ 128 upvotes · #1 on Hugging Face today" in plain
    context.close()
    assert problems == []
