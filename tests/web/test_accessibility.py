"""axe-core on every page a person meets, at 1280 and 375 px: zero serious or critical violations.

Every page of the site (signed out, signed in, onboarding, error pages, the email's landing pages), the
admin pages a moderator sees, the digest's HTML as sent and the verification email's, in Debian's
Chromium against a live server.
The digest comes from a real test-digest send over SMTP, so its links are the real ones.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from accounts.models import User
from digest.delivery.sample import delivery_send_test
from digest.dispatch import chunks_enqueue
from digest.models import Feed
from digest.services.roles import MODERATORS, moderators_group_sync
from tests import factories
from tests.a11y import axe_check, axe_source

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 375, "height": 812}}
PASSWORD = "a long and unusual passphrase 42"


class Audit:
    """Opens pages in one browser context (one signed-in person) and runs axe at both widths."""

    def __init__(self, browser, base: str, *, session: str | None = None, bypass_csp: bool = True) -> None:
        # axe goes in as an inline script, which every page's Content-Security-Policy rightly forbids;
        # the audit is about the markup, so the browser is told to let axe in.
        self.base = base
        self.context = browser.new_context(viewport=WIDTHS["desktop"], bypass_csp=bypass_csp, locale="en-GB")
        # axe is in every page from its start (Chromium keeps it compiled), not sent again for each page.
        self.context.add_init_script(script=axe_source())
        self.context.set_default_timeout(15_000)
        if session:
            self.context.add_cookies([{"name": "sessionid", "value": session, "url": base}])
        self.page = self.context.new_page()
        self.audited: list[str] = []

    def open(self, path: str, name: str | None = None):
        response = self.page.goto(path if path.startswith("http") else self.base + path)
        self.check(name or path)
        return response

    def check(self, name: str) -> None:
        page = self.page
        page.wait_for_load_state("load")
        for viewport in WIDTHS.values():
            page.set_viewport_size(viewport)
            axe_check(page, f"{name} at {viewport['width']} px")
        page.set_viewport_size(WIDTHS["desktop"])
        self.audited.append(name)

    def close(self) -> None:
        self.context.close()


def session_of(user: User) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def links(message, pattern: str) -> list[str]:
    body = message.get_body(("plain",)).get_content()
    return re.findall(rf"https?://\S*{pattern}\S*", body)


@pytest.mark.django_db(transaction=True)
def test_no_page_has_a_serious_or_critical_accessibility_violation(
    browser, live_server, smtp_sink, settings, monkeypatch
):
    settings.SITE_URL = live_server.url
    now = timezone.now()
    for n, (title, abstract) in enumerate(
        [
            ("Sparse Diffusion Models for Long Video Generation", "We scale diffusion models to long video."),
            ("Diffusion Priors for Medical Image Reconstruction", "A diffusion prior improves medical MRI."),
            ("Reasoning Traces Make Better Teachers", "Distilling the reasoning traces of a large LLM."),
        ]
    ):
        factories.paper_make(title=title, abstract=abstract, ingested_at=now - timedelta(hours=n + 1))
    ada = factories.subscriber_make(email="ada@example.org", interests=["diffusion", "reasoning LLM"])
    ada.user.set_password(PASSWORD)
    ada.user.save()
    delivery = delivery_send_test(subscription_id=ada.id, on_chunks=chunks_enqueue)
    digest = next(m for m in smtp_sink.messages() if m["To"] == "ada@example.org")
    Feed.objects.create(name="arXiv cs.LG", kind=Feed.Kind.ARXIV, categories="cs.LG")
    moderators_group_sync()
    mo = User.objects.create_user(email="mo@paperboy.test", password=PASSWORD, is_staff=True)
    mo.groups.add(Group.objects.get(name=MODERATORS))
    base = live_server.url

    # Signed out: the entrance pages, a rejected sign-up, the error pages.
    visitor = Audit(browser, base)
    for path in ["/", "/accounts/login/", "/accounts/signup/", "/accounts/password/reset/", "/no-such-page/"]:
        visitor.open(path)
    visitor.page.goto(base + "/accounts/signup/")
    visitor.page.get_by_label("Email").fill("not-an-email@")
    visitor.page.get_by_label(re.compile(r"^Password:?$")).fill("short")
    visitor.page.get_by_label(re.compile(r"^Password \(again\):?$")).fill("other")
    visitor.page.locator("form").get_by_role("button").last.click()
    visitor.check("sign-up with errors")
    visitor.page.goto(base + "/accounts/password/reset/")
    visitor.page.get_by_label("Email").fill("ada@example.org")
    visitor.page.locator("main form").get_by_role("button").last.click()
    visitor.page.wait_for_url(re.compile(r"/password/reset/done/$"))
    visitor.check("password reset sent")
    visitor.open("/unsubscribe/not-a-token/", "an invalid link")
    visitor.open("/admin/login/", "the admin login")
    # The email's own links, signed out: unsubscribe (confirm, then done), feedback, view in browser.
    [unsubscribe] = re.findall(r"<(https?://[^>]+)>", digest["List-Unsubscribe"])
    visitor.open(unsubscribe, "unsubscribe confirm")
    visitor.page.get_by_role("button", name=re.compile("Unsubscribe")).click()
    visitor.check("unsubscribe done")
    ada.unsubscribed_at = None
    ada.save(update_fields=["unsubscribed_at"])
    feedback = links(digest, "/feedback/")[0]
    visitor.open(feedback, "feedback confirm")
    visitor.page.locator("#feedback-form button[type=submit]").click()
    visitor.check("feedback done")
    visitor.open(feedback[:-3] + "xx/", "feedback link invalid")
    visitor.close()

    # Signing up: the "check your inbox" page, the confirm page, onboarding with its banner.
    newcomer = Audit(browser, base)
    newcomer.page.goto(base + "/accounts/signup/")
    newcomer.page.get_by_label("Email").fill("fresh@example.org")
    newcomer.page.get_by_label(re.compile(r"^Password:?$")).fill(PASSWORD)
    newcomer.page.get_by_label(re.compile(r"^Password \(again\):?$")).fill(PASSWORD)
    newcomer.page.get_by_role("button", name="Create my account").click()
    newcomer.page.get_by_role("heading", name="Check your inbox").wait_for()
    newcomer.check("verification sent")
    confirm = next(
        link
        for m in smtp_sink.messages()
        if m["To"] == "fresh@example.org"
        for link in links(m, "/accounts/confirm-email/")
    )
    newcomer.open(confirm, "confirm email")
    newcomer.page.get_by_role("button", name="Confirm").click()
    newcomer.page.wait_for_url(re.compile(r"/preferences/$"))
    newcomer.check("onboarding")
    newcomer.close()

    # Signed in with interests: every page of the subscriber's, with a flash message and a query error.
    reader = Audit(browser, base, session=session_of(ada.user))
    reader.page.goto(base + "/preferences/")
    reader.page.get_by_label("Add an interest").fill("graph")
    reader.page.get_by_role("button", name="Add interest").click()
    reader.page.get_by_text("Added “graph”.").wait_for()
    reader.check("preferences after adding (a flash message)")
    reader.page.get_by_label("Add an interest").fill('"video generation')
    reader.page.locator("[data-preview-panel] .query-error").wait_for()
    reader.check("the live preview showing a query error")
    reader.page.get_by_role("button", name="Add interest").click()
    reader.page.locator("#id_query_error").wait_for()
    reader.check("preferences with a refused query")
    for path in [
        "/preview/?q=diffusion+-medical",
        "/archive/",
        f"/archive/{delivery.id}/",
        "/accounts/email/",
        "/accounts/password/change/",
        "/account/delete/",
        "/feeds/suggest/",
    ]:
        reader.open(path)
    reader.page.goto(base + "/preferences/")
    reader.page.get_by_role("button", name="Unsubscribe").click()
    reader.check("preferences while unsubscribed")
    reader.close()

    # The digest as sent, and its browser views (their CSP forbids scripts: axe is one, so bypass it).
    email = Audit(browser, base, session=session_of(ada.user), bypass_csp=True)
    email.page.set_content(digest.get_body(("html",)).get_content())
    email.check("the digest email's HTML")
    verification = next(m for m in smtp_sink.messages() if m["To"] == "fresh@example.org")
    email.page.set_content(verification.get_body(("html",)).get_content())
    email.check("the verification email's HTML")
    email.open(links(digest, "/d/")[0], "view in browser")
    email.open(f"/archive/{delivery.id}/email/", "the archived digest's email frame")
    email.close()

    # A moderator in the admin.
    moderator = Audit(browser, base, session=session_of(mo))
    for path in ["/admin/", "/admin/digest/feed/", "/admin/digest/feed/add/", "/admin/digest/paper/"]:
        moderator.open(path)
    moderator.page.goto(base + "/admin/digest/feed/")
    moderator.page.locator("#result_list tbody th a").first.click()
    moderator.check("a feed's change page")
    moderator.page.goto(base + "/admin/digest/paper/")
    moderator.page.locator("#result_list tbody th a, #result_list tbody td a").first.click()
    moderator.check("a paper's change page")
    moderator.open("/admin/digest/feedrun/")
    moderator.open("/admin/admin/logentry/")
    moderator.close()

    assert len(visitor.audited + newcomer.audited + reader.audited + email.audited + moderator.audited) == 40
