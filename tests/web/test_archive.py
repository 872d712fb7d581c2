"""Past digests: listed for their owner, shown exactly as emailed, and nobody else's (404, not 403)."""

from __future__ import annotations

import re
from datetime import date

import pytest
import time_machine
from django.utils import timezone

from accounts.tokens import token_make
from digest.links import digest_view_url
from digest.models import Delivery

pytestmark = pytest.mark.django_db


def delivery_sent(sub, papers, *, slot=date(2026, 11, 26), kind=Delivery.Kind.DIGEST, state=Delivery.State.SENT):
    content = [
        {
            "paper": paper.id,
            "score": 1.0,
            "reasons": [{"interest": "diffusion", "terms": ["diffusion"]}],
            "title_spans": [],
            "snippet": paper.abstract,
            "snippet_spans": [],
            "suggested": False,
        }
        for paper in papers
    ]
    return Delivery.objects.create(
        subscription=sub,
        slot=slot,
        kind=kind,
        state=state,
        to_email=sub.user.email,
        subject=f"{len(papers)} new papers on diffusion",
        message_id=f"<{slot}.{kind}@paperboy.test>",
        content=content,
        paper_count=len(papers),
        sent_at=timezone.now() if state == Delivery.State.SENT else None,
    )


@pytest.fixture
def adas_digest(ada_sub, recent_papers):
    return delivery_sent(ada_sub, [recent_papers["video"], recent_papers["medical"]])


def test_the_archive_lists_sent_digests_newest_first(ada_client, ada_sub, recent_papers, adas_digest):
    test = delivery_sent(ada_sub, [recent_papers["video"]], slot=date(2026, 11, 27), kind=Delivery.Kind.TEST)
    delivery_sent(ada_sub, [recent_papers["video"]], slot=date(2026, 11, 25), state=Delivery.State.PENDING)
    html = ada_client.get("/archive/").content.decode()
    assert html.index(f"/archive/{test.id}/") < html.index(f"/archive/{adas_digest.id}/")
    assert "2 new papers on diffusion" in html
    assert len(re.findall(r'href="/archive/\d+/"', html)) == 2  # the pending one is not in the archive
    assert ">test</span>" in html


def test_an_empty_archive_explains_when_the_first_digest_comes(ada_client):
    html = ada_client.get("/archive/").content.decode()
    assert "No digest has been sent to you yet" in html
    assert "07:00 (UTC)" in html


def test_a_digest_opens_inside_the_site_with_a_way_back_to_the_archive(ada_client, adas_digest):
    html = ada_client.get(f"/archive/{adas_digest.id}/").content.decode()
    assert 'class="site-header"' in html
    assert 'href="/archive/">← All past digests</a>' in html
    assert f'<iframe class="digest-frame" src="/archive/{adas_digest.id}/email/"' in html


def test_the_archived_digests_email_is_exactly_as_emailed_under_the_strict_csp(ada_client, adas_digest):
    from digest.content import digest_email_from_delivery
    from digest.email import digest_html_render

    with time_machine.travel(timezone.now(), tick=False):  # the signed links carry a timestamp
        response = ada_client.get(f"/archive/{adas_digest.id}/email/")
        expected = digest_html_render(digest_email_from_delivery(adas_digest), for_browser=True)
    assert response.status_code == 200
    assert response.content.decode() == expected
    assert "Sparse Diffusion Models for Long Video Generation" in response.content.decode()
    assert "default-src 'none'" in response["Content-Security-Policy"]
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["X-Frame-Options"] == "SAMEORIGIN"  # framed by the archive page, by no other site
    assert '<base target="_top">' in response.content.decode()  # its links leave the frame


def test_archive_times_are_in_the_subscribers_time_zone(ada_client, ada_sub, adas_digest):
    from datetime import UTC, datetime

    ada_sub.timezone = "Europe/Berlin"
    ada_sub.save(update_fields=["timezone"])
    adas_digest.sent_at = datetime(2026, 11, 27, 6, 5, tzinfo=UTC)
    adas_digest.save(update_fields=["sent_at"])
    listing = ada_client.get("/archive/").content.decode()
    assert "sent 27 Nov 2026, 07:05 (Europe/Berlin)" in listing and "UTC" not in listing
    page = ada_client.get(f"/archive/{adas_digest.id}/").content.decode()
    assert "Friday 27 November 2026, 07:05 (Europe/Berlin)" in page


def test_another_subscribers_digest_is_not_found(bo_client, adas_digest):
    assert bo_client.get(f"/archive/{adas_digest.id}/").status_code == 404
    assert bo_client.get(f"/archive/{adas_digest.id}/email/").status_code == 404
    assert bo_client.get("/archive/999999/").status_code == 404
    assert "2 new papers on diffusion" not in bo_client.get("/archive/").content.decode()


def test_the_emails_view_in_browser_link_needs_no_login(anon, ada_sub, adas_digest):
    url = digest_view_url(subscription_id=ada_sub.id, delivery_id=adas_digest.id)
    response = anon.get(url.removeprefix("http://localhost:8000"))
    assert response.status_code == 200
    assert "Sparse Diffusion Models" in response.content.decode()


def test_a_view_link_for_someone_elses_digest_or_a_tampered_one_is_not_found(anon, ada_sub, bo_sub, adas_digest):
    # A genuine token for Bo naming Ada's delivery.
    crossed = token_make(
        purpose="archive", subscription_id=bo_sub.id, address=bo_sub.user.email, data={"d": adas_digest.id}
    )
    assert anon.get(f"/d/{crossed}/").status_code == 404
    # Another purpose's token.
    unsubscribe = token_make(purpose="unsubscribe", subscription_id=ada_sub.id, address=ada_sub.user.email)
    assert anon.get(f"/d/{unsubscribe}/").status_code == 404
    # A tampered one.
    good = token_make(
        purpose="archive", subscription_id=ada_sub.id, address=ada_sub.user.email, data={"d": adas_digest.id}
    )
    assert anon.get(f"/d/{good[:-2]}xx/").status_code == 404
    assert anon.get("/d/garbage/").status_code == 404


# --- Link lifetimes (security review L5) ---------------------------------------------------------------


def feedback_tokens_in(html: str) -> list[str]:
    return re.findall(r"/feedback/([^/\"]+)/", html)


def test_a_view_in_browser_link_expires_after_its_lifetime(anon, ada_sub, adas_digest, settings):
    settings.PAPERBOY_VIEW_LINK_MAX_AGE_DAYS = 365
    from datetime import timedelta

    with time_machine.travel(timezone.now() - timedelta(days=730), tick=False):
        two_years_old = digest_view_url(subscription_id=ada_sub.id, delivery_id=adas_digest.id)
    with time_machine.travel(timezone.now() - timedelta(days=300), tick=False):
        ten_months_old = digest_view_url(subscription_id=ada_sub.id, delivery_id=adas_digest.id)

    assert anon.get(two_years_old.removeprefix("http://localhost:8000")).status_code == 404
    assert anon.get(ten_months_old.removeprefix("http://localhost:8000")).status_code == 200


def test_the_view_in_browser_page_never_mints_fresh_feedback_links(anon, ada_sub, recent_papers):
    from datetime import timedelta

    from accounts.tokens import InvalidToken
    from digest.feedback.links import feedback_token_read

    sent = timezone.now() - timedelta(days=61)
    with time_machine.travel(sent, tick=False):
        delivery = delivery_sent(ada_sub, [recent_papers["video"]])
        url = digest_view_url(subscription_id=ada_sub.id, delivery_id=delivery.id)

    html = anon.get(url.removeprefix("http://localhost:8000")).content.decode()

    tokens = feedback_tokens_in(html)
    assert tokens, "the page shows the card's feedback links"
    for token in tokens:  # signed when the email was sent, 61 days ago: expired like the email's own
        with pytest.raises(InvalidToken, match="expired"):
            feedback_token_read(token=token)


def test_the_signed_in_archive_still_gets_fresh_feedback_links(ada_client, ada_sub, recent_papers):
    from datetime import timedelta

    from digest.feedback.links import feedback_token_read

    with time_machine.travel(timezone.now() - timedelta(days=61), tick=False):
        delivery = delivery_sent(ada_sub, [recent_papers["video"]])
    html = ada_client.get(f"/archive/{delivery.id}/email/").content.decode()  # the email, framed by /archive/<id>/
    assert feedback_token_read(token=feedback_tokens_in(html)[0]).action == "like"
