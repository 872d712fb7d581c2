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


def test_a_digest_opens_as_emailed(ada_client, adas_digest):
    from digest.content import digest_email_from_delivery
    from digest.email import digest_html_render

    with time_machine.travel(timezone.now(), tick=False):  # the signed links carry a timestamp
        response = ada_client.get(f"/archive/{adas_digest.id}/")
        expected = digest_html_render(digest_email_from_delivery(adas_digest), for_browser=True)
    assert response.status_code == 200
    assert response.content.decode() == expected
    assert "Sparse Diffusion Models for Long Video Generation" in response.content.decode()
    assert "default-src 'none'" in response["Content-Security-Policy"]
    assert response["Referrer-Policy"] == "no-referrer"


def test_another_subscribers_digest_is_not_found(bo_client, adas_digest):
    assert bo_client.get(f"/archive/{adas_digest.id}/").status_code == 404
    assert bo_client.get("/archive/999999/").status_code == 404
    assert "2 new papers on diffusion" not in bo_client.get("/archive/").content.decode()


def test_the_emails_view_in_browser_link_needs_no_login(anon, ada_sub, adas_digest):
    url = digest_view_url(subscription_id=ada_sub.id, delivery_id=adas_digest.id)
    response = anon.get(url.removeprefix("http://localhost:8000"))
    assert response.status_code == 200
    assert "Sparse Diffusion Models" in response.content.decode()


def test_a_view_link_for_someone_elses_digest_or_a_tampered_one_is_not_found(anon, ada_sub, bo_sub, adas_digest):
    # A genuine token for Bo naming Ada's delivery.
    crossed = token_make(purpose="archive", subscription_id=bo_sub.id, data={"d": adas_digest.id})
    assert anon.get(f"/d/{crossed}/").status_code == 404
    # Another purpose's token.
    unsubscribe = token_make(purpose="unsubscribe", subscription_id=ada_sub.id)
    assert anon.get(f"/d/{unsubscribe}/").status_code == 404
    # A tampered one.
    good = token_make(purpose="archive", subscription_id=ada_sub.id, data={"d": adas_digest.id})
    assert anon.get(f"/d/{good[:-2]}xx/").status_code == 404
    assert anon.get("/d/garbage/").status_code == 404
