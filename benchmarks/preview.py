"""How fast the interests editor's live preview answers, through the whole Django stack.

    python -m benchmarks.preview [--papers 5000] [--rounds 10] [--database-url sqlite:///...]

A throwaway database (SQLite in a temporary directory unless ``--database-url`` names one to create
tables in) gets ``--papers`` papers ingested over the last 6 days (recombined from the shared corpus when
it is there, else invented) and one signed-in subscriber with four interests. Then, like the page's
script does while someone types, it requests ``/preview/?q=...&fragment=1`` for a set of queries:
the query's matches and the next digest with all interests, highlights and snippets rendered.

Printed: the first request (which builds the index), then the median and 95th percentile of the rest.
The last line is ``RESULT papers=<int> build_ms=<float> median_ms=<float> p95_ms=<float>``. The target
(issue 5) is under 200 ms on 5,000 papers.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "papers.jsonl"
QUERIES = (
    "diffusion",
    "language model",
    '"large language model" reasoning',
    "transformer OR attention -vision",
    "graph neural network OR GNN",
    "title:benchmark",
    "reinforcement learning -robot",
    "video generation",
)
INTERESTS = ("diffusion video", '"language model" reasoning', "retrieval OR RAG", "reinforcement learning")


def _texts(n: int, rng: random.Random) -> list[tuple[str, str]]:
    if CORPUS.exists():
        rows = [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]
        titles = [r["title"] for r in rows]
        sentences = [s.strip() + "." for r in rows for s in r["abstract"].split(". ") if len(s) > 30]
    else:
        titles = ["Scaling diffusion models for video", "Reasoning in large language models", "Graph retrieval"]
        sentences = ["We propose a method that improves reasoning, retrieval and video generation benchmarks."]
    return [
        (f"{rng.choice(titles)} ({i})", " ".join(rng.sample(sentences, k=min(6, len(sentences))))) for i in range(n)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=10, help="times each query is asked")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory()
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{tmp.name}/preview.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paperboy.settings")
    os.environ.pop("REDIS_URL", None)  # the preview never needs the cache or broker
    # This measures the preview's work, not the per-user throttle (digest/throttle.py) that would refuse a loop.
    os.environ["PAPERBOY_PREVIEW_RATE"] = "1000000"
    import django

    django.setup()
    from datetime import timedelta

    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone

    from digest.models import Paper
    from tests import factories

    call_command("migrate", verbosity=0)
    rng = random.Random(5)
    now = timezone.now()
    Paper.objects.bulk_create(
        [
            Paper(
                external_id=f"bench:{i}",
                title_key=f"bench-{i}",
                title=title,
                abstract=abstract,
                authors=["A. Author", "B. Author"],
                categories=["cs.LG"],
                url=f"https://arxiv.org/abs/bench.{i}",
                ingested_at=now - timedelta(minutes=rng.randint(1, 6 * 24 * 60)),
            )
            for i, (title, abstract) in enumerate(_texts(args.papers, rng))
        ],
        batch_size=1000,
    )
    sub = factories.subscriber_make(email="bench@example.org", interests=list(INTERESTS))
    client = Client()
    client.force_login(sub.user)

    def ask(query: str) -> float:
        started = time.perf_counter()
        response = client.get("/preview/", {"q": query, "fragment": "1"})
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.status_code
        return elapsed * 1000

    build_ms = ask(QUERIES[0])
    times = [ask(query) for _ in range(args.rounds) for query in QUERIES]
    median = statistics.median(times)
    p95 = statistics.quantiles(times, n=20)[-1] if len(times) >= 20 else max(times)
    print(f"papers in the last 7 days   {args.papers}")
    print(f"first request (builds index) {build_ms:8.1f} ms")
    print(f"preview request, median      {median:8.1f} ms   ({len(times)} requests)")
    print(f"preview request, 95th pct    {p95:8.1f} ms")
    print(f"RESULT papers={args.papers} build_ms={build_ms:.1f} median_ms={median:.1f} p95_ms={p95:.1f}")
    tmp.cleanup()


if __name__ == "__main__":
    main()
