"""Are the admin list pages fast at 100,000 subscribers and 1,000,000 papers? (PostgreSQL only)

    createdb pb_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pb_bench python -m benchmarks.admin_lists --seed
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pb_bench python -m benchmarks.admin_lists

``--seed`` migrates and fills the database with SQL ``generate_series`` (a minute or two): 20 feeds,
1,000,000 papers, 100,000 users with subscriptions and two interests each, one day of 100,000
deliveries, 300,000 sent papers. Then every admin list page (and a few filtered variants) is
requested as a superuser through Django's test client, twice (the first warms the caches); the
report shows the wall time, the number of queries and the slowest query of the second request.
It never runs against a database that has real users: ``--seed`` refuses when users exist.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

SEED_SQL = [
    """INSERT INTO digest_feed (name, kind, url, categories, params, enabled, state, suggestion_reason,
        rejection_reason, cadence_minutes, last_status, last_error, consecutive_failures, cursor, etag,
        last_modified, created_at)
       SELECT 'Bench feed ' || i, 'rss', 'https://feed' || i || '.example.org/rss', '', '{}', true, 'approved',
        '', '', 60, 'ok', '', (i % 5), '{}', '', '', now() FROM generate_series(1, 20) i""",
    """INSERT INTO digest_paper (external_id, arxiv_id, title_key, title, abstract, authors, categories,
        primary_category, url, pdf_url, hf_url, extra, hidden, hidden_reason, flagged, ingested_at, updated_at,
        feed_id)
       SELECT 'bench:' || i, '', 'bench paper ' || i, 'Benchmark paper number ' || i || ' on diffusion',
        'An abstract.', '[]', '["cs.LG"]', 'cs.LG', '', '', '', '{}', (i % 1000 = 0), '', (i % 5000 = 0),
        now() - i * interval '20 seconds', now(), (SELECT min(id) FROM digest_feed) + (i % 20)
       FROM generate_series(1, 1000000) i""",
    """INSERT INTO accounts_user (password, is_superuser, first_name, last_name, is_staff, is_active,
        date_joined, email)
       SELECT '!', false, '', '', false, true, now(), 'reader' || i || '@example.org'
       FROM generate_series(1, 100000) i""",
    """INSERT INTO digest_subscription (muted_words, max_papers, frequency, weekday, send_hour, timezone, paused,
        quiet_day_note, feed_token, created_at, updated_at, user_id)
       SELECT '[]', 10, 'daily', 0, 7, 'UTC', (id % 50 = 0), false, '', now(), now(), id FROM accounts_user""",
    """INSERT INTO digest_interest (subscription_id, query, position, created_at)
       SELECT id, q, p, now() FROM digest_subscription, (VALUES ('diffusion', 0), ('robot', 1)) v(q, p)""",
    """INSERT INTO digest_delivery (slot, kind, state, send_at, to_email, message_id, subject, content,
        paper_count, attempts, last_error, planned_at, claimed_at, sent_at, bounce_kind, subscription_id,
        claim_token)
       SELECT current_date, 'digest',
        CASE WHEN s.id % 100 = 0 THEN 'failed' WHEN s.id % 7 = 0 THEN 'skipped' ELSE 'sent' END,
        now(), u.email, '<' || s.id || '@bench>', '', '[]', 3, 1,
        CASE WHEN s.id % 100 = 0 THEN '550 5.1.1 user unknown' ELSE '' END, now(), now(), now(), '', s.id, ''
       FROM digest_subscription s JOIN accounts_user u ON u.id = s.user_id""",
    """INSERT INTO digest_sentpaper (sent_at, paper_id, subscription_id)
       SELECT now(), p.id, s.id FROM digest_subscription s
       JOIN LATERAL (SELECT id FROM digest_paper ORDER BY id OFFSET (s.id % 1000) LIMIT 3) p ON true""",
    "ANALYZE",
]

PAGES = [
    "/admin/digest/feed/",
    "/admin/digest/paper/",
    "/admin/digest/paper/?hidden__exact=1",
    "/admin/digest/paper/?flagged__exact=1",
    "/admin/digest/paper/?feed__id__exact={feed}",
    "/admin/digest/paper/?ingested_at__gte={week}",
    "/admin/digest/paper/?q=bench:123456",
    "/admin/digest/paper/?q=number+123456+on",
    "/admin/digest/paper/?p=100",
    "/admin/digest/subscription/",
    "/admin/digest/subscription/?q=reader99999@",
    "/admin/digest/delivery/",
    "/admin/digest/delivery/?state__exact=failed",
    "/admin/digest/delivery/?q=reader4242@example.org",
    "/admin/digest/deliveryrun/",
    "/admin/accounts/user/",
    "/admin/admin/logentry/",
]


def seed() -> None:
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import User

    call_command("migrate", verbosity=0)
    if User.objects.exists():
        sys.exit("refusing to seed: this database already has users")
    with connection.cursor() as cursor:
        for sql in SEED_SQL:
            started = time.perf_counter()
            cursor.execute(sql)
            words = sql.split()
            print(f"{time.perf_counter() - started:6.1f} s  {words[2] if len(words) > 2 else words[0]}")


def measure() -> None:
    from datetime import timedelta

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from accounts.models import User
    from digest.models import Feed

    admin, _ = User.objects.get_or_create(email="bench-admin@example.org", defaults={"is_staff": True})
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client = Client()
    client.force_login(admin)
    feed = Feed.objects.order_by("id").values_list("id", flat=True).first()
    week = (timezone.now() - timedelta(days=7)).date().isoformat()
    print(f"{'page':58} {'ms':>7} {'queries':>7} {'slowest query ms':>16}")
    for template in PAGES:
        url = template.format(feed=feed, week=week)
        client.get(url)
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            response = client.get(url)
            elapsed = (time.perf_counter() - started) * 1000
        slowest = max((float(q["time"]) * 1000 for q in ctx.captured_queries), default=0.0)
        print(f"{url:58} {elapsed:7.0f} {len(ctx):7d} {slowest:16.0f}  HTTP {response.status_code}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", action="store_true", help="migrate and fill the (empty) database first")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paperboy.settings")
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("this benchmark needs PostgreSQL (DATABASE_URL=postgres://...)")
    if args.seed:
        seed()
    measure()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
