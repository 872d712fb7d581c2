"""Planning cost of trending subscribers against keyword subscribers (issue 19), on PostgreSQL.

    python -m benchmarks.trending [--subscribers 100000] [--database-url postgres://.../pb_trend_bench]

A fresh database (dropped and created) gets the day's papers (the shared corpus when it is there, else
invented ones; every fourth paper has Hugging Face upvotes) and N verified subscribers due now. The
same N subscribers are then planned three ways, each time from scratch (deliveries deleted):

  * keywords   -- one to three keyword interests each (the baseline, as in benchmarks/delivery.py);
  * trending   -- the same people switched to trending digests, in four category choices (all
                  categories, cs.CV, cs.CL, cs.CV + cs.LG): the planner reads one shared list per
                  (window, categories) and cuts it per subscriber;
  * sections   -- keyword subscribers with a three-paper "Trending today" section each.

Only planning is timed (``deliveries_plan`` writing every row, no sending). The last line is
``RESULT subscribers=<N> keywords_s=<f> trending_s=<f> sections_s=<f> trending_ratio=<f> sections_ratio=<f>``
(ratios: seconds / keywords seconds; the issue asks for trending_ratio <= 1).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import time
from datetime import datetime, timedelta
from pathlib import Path

from benchmarks.delivery import database_recreate
from benchmarks.readers import INTERESTS, readers_seed

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "papers.jsonl"
CATEGORY_CHOICES = ([], ["cs.CV"], ["cs.CL"], ["cs.CV", "cs.LG"])


def papers_load() -> list[dict]:
    if CORPUS.exists():
        with CORPUS.open(encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
    rng = random.Random(3)
    words = ["diffusion", "language", "model", "reasoning", "robot", "agent", "video", "graph", "retrieval"]
    return [
        {
            "title": f"A study of {' and '.join(rng.sample(words, 2))} {n}",
            "abstract": " ".join(rng.sample(words, 6)) * 8,
        }
        for n in range(280)
    ]


def world_seed(*, subscribers: int, now: datetime) -> tuple[int, int]:
    from digest.models import Paper

    rng = random.Random(11)
    papers = papers_load()
    cats = ["cs.CV", "cs.CL", "cs.LG", "cs.RO", "cs.AI"]
    Paper.objects.bulk_create(
        [
            Paper(
                external_id=f"bench:{n}",
                title_key=f"bench {n}",
                title=p["title"],
                abstract=p["abstract"],
                authors=p.get("authors") or ["A. Author"],
                categories=p.get("categories") or rng.sample(cats, 2),
                url=f"https://arxiv.org/abs/2611.{n:05d}",
                popularity=rng.randint(0, 300) if n % 4 == 0 else None,
                ingested_at=now - timedelta(hours=1),
            )
            for n, p in enumerate(papers)
        ],
        batch_size=1000,
    )
    readers_seed(subscribers=subscribers, now=now, interests=INTERESTS, rng=rng)
    return len(papers), sum(1 for n in range(len(papers)) if n % 4 == 0)


def plan_timed(label: str) -> dict:
    from django.db import connection

    from digest.delivery.plan import deliveries_plan
    from digest.models import Delivery, DeliveryRun, Subscription

    Delivery.objects.all().delete()
    DeliveryRun.objects.all().delete()
    # Planning moves each subscriber's next_due_at to tomorrow; every variant starts with all of them due.
    Subscription.objects.update(next_due_at=None)
    with connection.cursor() as cursor:  # each variant starts from the same clean table
        cursor.execute("VACUUM ANALYZE digest_delivery")
    started, cpu = time.perf_counter(), time.process_time()
    result = deliveries_plan()
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    row = {
        "label": label,
        "seconds": seconds,
        "planner_cpu": cpu_seconds,
        "planned": result.planned,
        "trending": result.trending,
        "skipped": result.skipped,
        "papers_sent": sum(Delivery.objects.values_list("paper_count", flat=True)),
    }
    print(
        f"{label:9} {seconds:7.2f} s wall, {cpu_seconds:7.2f} s planner CPU; {result.planned} rows "
        f"({result.trending} trending, {result.skipped} skipped), {row['papers_sent']} papers in them",
        flush=True,
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/pb_trend_bench")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paperboy.settings")
    database_recreate(args.database_url)
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from digest.models import Interest, Subscription

    call_command("migrate", verbosity=0)
    now = timezone.now()
    papers, upvoted = world_seed(subscribers=args.subscribers, now=now)
    print(f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}; {papers} papers "
          f"({upvoted} with upvotes), {args.subscribers} subscribers", flush=True)  # fmt: skip

    keywords = plan_timed("keywords")

    # The same people as trending subscribers, four category choices among them, no interests.
    interests = list(Interest.objects.values("subscription_id", "query", "position"))
    ids = list(Subscription.objects.order_by("id").values_list("id", flat=True))
    Interest.objects.all().delete()
    for n, categories in enumerate(CATEGORY_CHOICES):
        Subscription.objects.filter(id__in=ids[n :: len(CATEGORY_CHOICES)]).update(
            digest=Subscription.Digest.TRENDING, trending_categories=categories
        )
    trending = plan_timed("trending")

    # Back to keywords, each with a three-paper Trending today section.
    Subscription.objects.update(digest=Subscription.Digest.KEYWORDS, trending_categories=[], trending_section=3)
    Interest.objects.bulk_create([Interest(**row) for row in interests], batch_size=5000)
    sections = plan_timed("sections")

    base = keywords["seconds"]
    print(
        f"RESULT subscribers={args.subscribers} keywords_s={base:.2f} trending_s={trending['seconds']:.2f} "
        f"sections_s={sections['seconds']:.2f} trending_ratio={trending['seconds'] / base:.2f} "
        f"sections_ratio={sections['seconds'] / base:.2f}"
    )


if __name__ == "__main__":
    main()
