"""Every account email allauth sends speaks as Paperboy, in text and HTML, and names this site, never example.com."""

from __future__ import annotations

import re

import pytest
from allauth.account.adapter import get_adapter
from allauth.core.context import request_context
from django.contrib.sites.models import Site
from django.core.management import call_command
from django.test import RequestFactory
from django.utils import timezone

from tests import factories
from tests.web.conftest import CsrfClient

pytestmark = pytest.mark.django_db

SITE = "https://papers.lab.test"
PASSWORD = "a long and unusual passphrase 42"


@pytest.fixture
def lab_site(settings):
    settings.SITE_URL = SITE
    settings.SITE_DOMAIN = "papers.lab.test"
    settings.ALLOWED_HOSTS = ["testserver", "papers.lab.test"]
    settings.DEFAULT_FROM_EMAIL = "Paperboy <digest@papers.lab.test>"
    call_command("migrate", verbosity=0)  # the Sites row follows PAPERBOY_SITE_URL on migrate


def parts(message) -> tuple[str, str]:
    return (
        message.get_body(preferencelist=("plain",)).get_content(),
        message.get_body(preferencelist=("html",)).get_content(),
    )


def assert_in_paperboys_voice(message) -> None:
    raw = message.as_string()
    text, html = parts(message)
    subject = str(message["Subject"])
    assert "example.com" not in raw, subject
    assert "[" not in subject and "Paperboy" in subject
    # Sentence case: after the first word, only the name "Paperboy" is capitalised.
    assert subject[0].isupper() and all(w == "Paperboy" or not w[0].isupper() for w in subject.split()[1:]), subject
    assert "Paperboy" in str(message["From"])
    assert message["Message-ID"].endswith("@papers.lab.test>")
    assert "Paperboy" in text and "Paperboy" in html
    assert html.lstrip().startswith("<!DOCTYPE html>") and '<html lang="en">' in html
    for url in re.findall(r"https?://[^\s\"<>]+", text + html):
        assert url.startswith(SITE), url
    assert max(len(line) for line in text.splitlines() if "://" not in line) <= 78


def test_the_sites_row_follows_the_site_url_on_migrate(settings):
    settings.SITE_URL = "https://papers.lab.test:8443"
    call_command("migrate", verbosity=0)
    site = Site.objects.get_current()
    assert (site.domain, site.name) == ("papers.lab.test:8443", "Paperboy")


def test_every_account_email_a_person_can_trigger_is_in_paperboys_voice(
    lab_site, smtp_sink, django_capture_on_commit_callbacks
):
    factories.user_make(email="ada@example.org", password=PASSWORD)
    with django_capture_on_commit_callbacks(execute=True):
        # Verification at sign-up, and "you already have an account" for a taken address.
        CsrfClient().post_form(
            "/accounts/signup/", {"email": "newbie@example.org", "password1": PASSWORD, "password2": PASSWORD}
        )
        CsrfClient().post_form(
            "/accounts/signup/", {"email": "ada@example.org", "password1": PASSWORD, "password2": PASSWORD}
        )
        # Password reset, for a real account and for an unknown address.
        CsrfClient().post_form("/accounts/password/reset/", {"email": "ada@example.org"})
        CsrfClient().post_form("/accounts/password/reset/", {"email": "nobody@example.org"})
        # Email change: a verification to the new address, then a notice once it is confirmed.
        ada = CsrfClient()
        ada.post_form("/accounts/login/", {"login": "ada@example.org", "password": PASSWORD})
        ada.post_form("/accounts/email/", {"email": "ada.new@example.org", "action_add": ""})
    by_subject = {str(m["Subject"]): m for m in smtp_sink.messages()}
    assert set(by_subject) == {
        "Confirm your email address for Paperboy",  # sign-up and the new address: one subject, two emails
        "You already have a Paperboy account",
        "Reset your Paperboy password",
    }
    # No email to an address without an account (security review L3: a reset form is no way to mail strangers);
    # its template is still checked below, in case an operator turns ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS on.
    assert len(smtp_sink.messages()) == 4
    for message in smtp_sink.messages():
        assert_in_paperboys_voice(message)

    # Confirming the new address replaces the old one, and the old address hears about it.
    change = next(m for m in smtp_sink.messages() if m["To"] == "ada.new@example.org")
    confirm = re.search(r"https://papers\.lab\.test(/accounts/confirm-email/\S+)", parts(change)[0]).group(1)
    before = len(smtp_sink.messages())
    with django_capture_on_commit_callbacks(execute=True):
        ada.post_form(confirm)
    [notice] = smtp_sink.messages()[before:]
    assert notice["Subject"] == "Your Paperboy email address was changed"
    assert "ada.new@example.org" in parts(notice)[0]
    assert_in_paperboys_voice(notice)


@pytest.mark.parametrize(
    ("kind", "context"),
    [
        ("password_changed", {}),
        ("password_set", {}),
        ("password_reset", {}),
        ("email_deleted", {"deleted_email": "old@example.org"}),
        ("email_changed", {"from_email": "old@example.org", "to_email": "new@example.org"}),
    ],
)
def test_every_account_notice_is_in_paperboys_voice(
    lab_site, smtp_sink, django_capture_on_commit_callbacks, kind, context
):
    user = factories.user_make(email="ada@example.org")
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.7")
    request.user = user
    with request_context(request), django_capture_on_commit_callbacks(execute=True):
        get_adapter(request).send_notification_mail(f"account/email/{kind}", user, context)
    [message] = smtp_sink.messages()
    assert_in_paperboys_voice(message)
    text, _ = parts(message)
    assert "192.0.2.7" in text and timezone.now().strftime("%Y") in text
