"""The landing page says what Paperboy does and shows a sample digest from the real email templates."""

from __future__ import annotations

import html as html_lib

import pytest

pytestmark = pytest.mark.django_db


def test_the_landing_page_says_what_it_does_and_how_to_sign_up(anon):
    response = anon.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "The papers you care about, in your inbox every morning." in page
    assert 'href="/accounts/signup/"' in page
    assert '<html lang="en">' in page
    assert 'name="viewport"' in page


def test_the_sample_digest_is_the_real_email_template_in_a_sandboxed_frame(anon):
    from digest.email import digest_html_render
    from digest.selectors.sample import sample_digest_email

    page = anon.get("/").content.decode()
    srcdoc = page.split('srcdoc="')[1].split('"')[0]
    assert "<" not in srcdoc  # the whole document is escaped into the attribute
    assert html_lib.unescape(srcdoc) == digest_html_render(sample_digest_email(), for_browser=True)
    assert '<iframe class="sample-frame" title="A sample Paperboy digest email" sandbox ' in page


def test_signed_in_visitors_are_offered_their_interests(ada_client):
    page = ada_client.get("/").content.decode()
    assert 'href="/preferences/"' in page
    assert "Log out" in page
