"""Screenshots of the admin (feed list, paper list, runs dashboard) taken by a real Chromium.

Written to ``docs/screenshots/admin-*.png``; the test also checks each page shows what it is for.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from digest.models import Delivery, DeliveryRun, Feed, SentPaper
from digest.services import moderation
from tests.conftest import CHROMIUM_ARGS, SCREENSHOTS_DIR, chromium_executable
from tests.factories import paper_make, subscriber_make

pytestmark = pytest.mark.browser

SHOTS = SCREENSHOTS_DIR


@pytest.fixture
def chromium_path() -> str:
    return chromium_executable()


def admin_world(corpus_path: Path) -> User:
    """A small instance: four feeds in every state, real paper titles, three days of digests."""
    rosa = User.objects.create_superuser(email="rosa@paperboy.test", password="operator password 1")
    now = timezone.now()
    ada = subscriber_make(email="ada@example.org", interests=["diffusion"])
    arxiv = Feed.objects.create(
        name="arXiv cs.LG + cs.CL",
        kind=Feed.Kind.ARXIV,
        categories="cs.LG cs.CL",
        last_fetched_at=now - timedelta(minutes=12),
        last_status="ok",
    )
    hf = Feed.objects.create(
        name="Hugging Face Daily Papers",
        kind=Feed.Kind.HF_DAILY,
        last_fetched_at=now - timedelta(minutes=40),
        last_status="ok",
    )
    Feed.objects.create(
        name="RSS: blog.example-lab.org/papers.xml",
        kind=Feed.Kind.RSS,
        url="https://blog.example-lab.org/papers.xml",
        last_fetched_at=now - timedelta(hours=1),
        last_status="failed",
        consecutive_failures=5,
        last_error="HTTP 503 Service Unavailable (retry after 3600 s)",
    )
    Feed.objects.create(
        name="RSS: robotics-weekly.example.org/feed",
        kind=Feed.Kind.RSS,
        url="https://robotics-weekly.example.org/feed",
        state=Feed.State.PENDING,
        enabled=False,
        suggested_by=ada.user,
        suggestion_reason="Weekly robotics preprints our group reads",
    )
    lines = corpus_path.read_text(encoding="utf-8").splitlines()[:40]
    papers = []
    for n, line in enumerate(lines):
        record = json.loads(line)
        papers.append(
            paper_make(
                title=record["title"],
                abstract=record["abstract"],
                feed=arxiv if n % 3 else hf,
                published=now - timedelta(days=1 + n // 10),
                ingested_at=now - timedelta(hours=n),
                flagged=n == 4,
            )
        )
    for paper in papers[:6]:
        SentPaper.objects.create(subscription=ada, paper=paper)
    moderation.paper_hide(papers=[papers[7]], by=rosa, reason="Withdrawn by the authors")
    moderation.paper_mark_duplicate(duplicate=papers[9], canonical=papers[8], by=rosa)

    readers = [subscriber_make(email=f"reader{n}@example.org", interests=["x"]) for n in range(12)]
    today = timezone.localdate()
    for day in range(3):
        slot = today - timedelta(days=day)
        start = now - timedelta(days=day, hours=2)
        DeliveryRun.objects.create(
            slot=slot, started_at=start, finished_at=start, papers=180 - 20 * day, planned=12, trending=3
        )
        for n, sub in enumerate(readers):
            state, error = "sent", ""
            if n == 0:
                state, error = "failed", "550 5.1.1 <reader0@example.org>: Recipient address rejected: User unknown"
            elif n == 1 and day == 0:
                state, error = "failed", "452 4.2.2 Mailbox full; try again later"
            elif n == 2:
                state = "skipped"
            elif n == 3 and day == 2:
                state, error = "expired", "Send window passed after 3 attempts"
            Delivery.objects.create(
                subscription=sub,
                slot=slot,
                state=state,
                to_email=sub.user.email,
                attempts=3 if state == "failed" else 1,
                last_error=error,
                claimed_at=start,
                sent_at=start + timedelta(seconds=n * 0.4) if state == "sent" else None,
            )
    return rosa


def test_admin_screenshots(live_server, transactional_db, corpus_path, chromium_path, monkeypatch, tmp_path):
    from playwright.sync_api import sync_playwright

    # The pages are always rendered and checked in the browser; only with PAPERBOY_SCREENSHOTS=1 are the
    # PNGs in docs/ rewritten (as for the web pages), so a test run leaves the work tree clean.
    shots = SHOTS if os.environ.get("PAPERBOY_SCREENSHOTS") == "1" else tmp_path
    rosa = admin_world(corpus_path)
    client = Client()
    client.force_login(rosa)
    session = client.cookies["sessionid"].value
    shots.mkdir(parents=True, exist_ok=True)
    # Playwright's sync API runs an event loop in this thread; the ORM work above is already done.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    pages = {
        "admin-feeds.png": ("/admin/digest/feed/", "⚑ flagged"),
        "admin-papers.png": ("/admin/digest/paper/", "DiagnosisArena"),
        "admin-runs.png": ("/admin/digest/deliveryrun/", "Recipient address rejected"),
    }
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1600, "height": 900})
            context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
            page = context.new_page()
            for filename, (path, expected) in pages.items():
                page.goto(live_server.url + path)
                if page.locator("#nav-sidebar").is_visible():
                    page.click("#toggle-nav-sidebar")  # the table, not the menu, is what the shot is for
                assert expected in page.content(), f"{path} does not show {expected!r}"
                # The paper list is 50 rows long: its first screen says it all.
                page.screenshot(path=str(shots / filename), full_page=filename != "admin-papers.png")
        finally:
            browser.close()

    for filename in pages:
        assert (shots / filename).stat().st_size > 10_000
