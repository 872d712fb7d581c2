"""A whole slot, end to end: plan + match on PostgreSQL, send through Celery workers on Redis into SMTP.

    python -m benchmarks.delivery [--subscribers 10000] [--workers 2] [--no-postoffice]
                                  [--dkim rsa2048|ed25519|dual|none]

What runs, on this machine:
  * a fresh PostgreSQL database (``--database-url``, default ``pb_bench_delivery``, dropped and created);
  * the day's papers (the shared corpus when it is there, else invented ones) and N verified
    subscribers with one to three interests each, all due in the current hour;
  * a counting SMTP sink (aiosmtpd) in its own process, which counts every message per recipient;
  * one ``celery worker --pool prefork -c <workers>`` (the Procfile's worker) on Redis (``--redis-url``);
  * the clock starts, the slot is planned and matched here (what the beat task does), the chunks are
    queued, and the clock stops when the sink has the last message and every row is settled.

Then the same digests go through django-post-office (its queue, then ``send_queued_mail`` with as
many processes) into a fresh sink, and Paperboy's rate is printed as a ratio of the peer's.

The last line is ``RESULT emails=<int> seconds=<float> emails_per_s=<float> duplicates=<int> missing=<int>``
(duplicates and missing are counted at the sink).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.counting_sink import Sink
from benchmarks.processes import celery_worker_start, cpu_seconds, postgres_cpu_seconds, process_tree
from benchmarks.readers import INTERESTS, readers_seed

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "papers.jsonl"


# --------------------------------------------------------------------------------------------------
# Set-up
# --------------------------------------------------------------------------------------------------


def database_recreate(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def papers_load(limit: int = 400) -> list[dict]:
    if CORPUS.exists():
        with CORPUS.open(encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()][:limit]
    words = ["diffusion", "language", "model", "reasoning", "robot", "agent", "video"]
    words += ["graph", "retrieval", "transformer", "benchmark"]
    rng = random.Random(3)
    return [
        {
            "title": f"A study of {' and '.join(rng.sample(words, 2))} number {n}",
            "abstract": " ".join(rng.sample(words, 6)) * 8,
        }
        for n in range(200)
    ]


def world_seed(*, subscribers: int, now: datetime) -> int:
    """Papers ingested an hour ago and ``subscribers`` verified readers due in this hour."""
    from digest.models import Paper

    rng = random.Random(11)
    papers = papers_load()
    Paper.objects.bulk_create(
        [
            Paper(
                external_id=f"bench:{n}",
                title_key=f"bench {n}",
                title=p["title"],
                abstract=p["abstract"],
                authors=p.get("authors") or ["A. Author", "B. Author"],
                categories=p.get("categories") or ["cs.LG"],
                url=f"https://arxiv.org/abs/2611.{n:05d}",
                pdf_url=f"https://arxiv.org/pdf/2611.{n:05d}",
                ingested_at=now - timedelta(hours=1),
            )
            for n, p in enumerate(papers)
        ],
        batch_size=1000,
    )
    readers_seed(subscribers=subscribers, now=now, interests=INTERESTS, rng=rng)
    return len(papers)


def worker_start(*, env: dict[str, str], workers: int, log: Path) -> subprocess.Popen:
    return celery_worker_start(
        env=env, log=log, name="bench", options=("--pool", "prefork", "--concurrency", str(workers))
    )


def worker_timings(log: Path) -> dict[str, float]:
    """Sum the per-stage seconds every chunk logged (``chunk of N: {...}``)."""
    totals: dict[str, float] = defaultdict(float)
    for line in log.read_text(errors="replace").splitlines():
        if "chunk of" in line and "timings" in line:
            summary = ast.literal_eval(line.split("chunk of", 1)[1].split(": ", 1)[1])
            for stage, seconds in summary["timings"].items():
                totals[stage] += seconds
    return totals


# --------------------------------------------------------------------------------------------------
# The two runs
# --------------------------------------------------------------------------------------------------


def paperboy_run(*, args, env: dict[str, str], folder: Path) -> dict:
    from digest.delivery import plan as delivery_services
    from digest.models import Delivery
    from digest.tasks.delivery import deliveries_send_chunk_task
    from paperboy.celery import app

    sink = Sink(folder, "paperboy-sink")
    log = folder / "worker.log"
    worker_env = {**env, "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(sink.port), "LOG_LEVEL": "INFO"}
    worker = worker_start(env=worker_env, workers=args.workers, log=log)
    app.conf.task_always_eager = False
    match_seconds = 0.0
    real_match = delivery_services.match_candidates

    def timed_match(**kwargs):
        nonlocal match_seconds
        started = time.perf_counter()
        try:
            return real_match(**kwargs)
        finally:
            match_seconds += time.perf_counter() - started

    delivery_services.match_candidates = timed_match
    cpu_before = {
        "planner": time.process_time(),
        "workers": cpu_seconds(process_tree(worker.pid)),
        "sink": cpu_seconds([sink.process.pid]),
        "postgres": postgres_cpu_seconds(),
    }
    try:
        started = time.perf_counter()
        # As the beat task does: each batch's chunks are queued as soon as the batch is committed.
        plan = delivery_services.deliveries_plan(
            on_chunks=lambda chunks: [deliveries_send_chunk_task.delay(chunk) for chunk in chunks]
        )
        planned_at = time.perf_counter()
        sent_while_planning = sink.count()
        expected = sum(len(c) for c in plan.chunks)
        deadline = time.monotonic() + args.timeout
        while sink.count() < expected and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.05)
        sent_at = time.perf_counter()
        while time.monotonic() < deadline and Delivery.objects.filter(state__in=["pending", "sending"]).exists():
            time.sleep(0.05)
        settled_at = time.perf_counter()
        # CPU seconds each party spent on the run (PostgreSQL backends exit with their connections:
        # read before stopping the worker).
        cpu = {
            "planner": time.process_time() - cpu_before["planner"],
            "workers": cpu_seconds(process_tree(worker.pid)) - cpu_before["workers"],
            "sink": cpu_seconds([sink.process.pid]) - cpu_before["sink"],
            "postgres": postgres_cpu_seconds() - cpu_before["postgres"],
        }
    finally:
        delivery_services.match_candidates = real_match
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
    report = sink.close()
    expected_rcpts = set(
        Delivery.objects.filter(id__in=[i for c in plan.chunks for i in c]).values_list("to_email", flat=True)
    )
    counts = Counter(report["counts"])
    return {
        "planned": plan.planned,
        "skipped": plan.skipped,
        "expected": expected,
        "emails": report["total"],
        "seconds": settled_at - started,
        "plan_seconds": planned_at - started - match_seconds,
        "match_seconds": match_seconds,
        "cpu": cpu,
        "sent_while_planning": sent_while_planning,
        "send_seconds": sent_at - planned_at,
        "duplicates": sum(n - 1 for n in counts.values() if n > 1),
        "missing": len(expected_rcpts - set(counts)),
        "states": Counter(Delivery.objects.values_list("state", flat=True)),
        "timings": worker_timings(log),
    }


def postoffice_run(*, args, env: dict[str, str], folder: Path) -> dict:
    """The same digests through django-post-office: queue them, then ``send_queued_mail``."""
    sink = Sink(folder, "postoffice-sink")
    script = (
        "import time, json, sys\n"
        "import django; django.setup()\n"
        "from benchmarks.delivery import postoffice_send\n"
        "print(json.dumps(postoffice_send(processes=int(sys.argv[1]))))\n"
    )
    po_env = {
        **env,
        "DJANGO_SETTINGS_MODULE": "benchmarks.settings_postoffice",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(sink.port),
        "LOG_LEVEL": "WARNING",
    }
    done = subprocess.run(
        [sys.executable, "-c", script, str(args.workers)],
        cwd=REPO,
        env=po_env,
        capture_output=True,
        text=True,
        timeout=args.timeout * 4,
        check=False,
    )
    report = sink.close()
    if done.returncode != 0:
        raise RuntimeError(f"post-office run failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    counts = Counter(report["counts"])
    result.update(emails=report["total"], duplicates=sum(n - 1 for n in counts.values() if n > 1))
    return result


def postoffice_send(*, processes: int) -> dict:
    """In the post-office process: render the digests Paperboy sent, queue them, send the queue."""
    from django.core.management import call_command
    from post_office import mail
    from post_office.models import Email

    from digest.content import digest_email_build
    from digest.email import digest_message_build
    from digest.models import Delivery
    from digest.selectors.delivery import interests_by_subscription
    from digest.selectors.papers import papers_visible_by_id

    rows = list(Delivery.objects.filter(state="sent").select_related("subscription").order_by("id"))
    papers = papers_visible_by_id(paper_ids={e["paper"] for d in rows for e in d.content})
    interests = interests_by_subscription(subscription_ids={d.subscription_id for d in rows})
    started = time.perf_counter()
    batch = []
    for d in rows:
        message = digest_message_build(
            digest_email_build(delivery=d, papers=papers, interests=interests.get(d.subscription_id, ()))
        )
        html = message.alternatives[0][0] if message.alternatives else ""
        batch.append(
            {
                "sender": message.from_email,
                "recipients": message.to,
                "subject": message.subject,
                "message": message.body,
                "html_message": html,
                "headers": dict(message.extra_headers),
            }
        )
    rendered = time.perf_counter()
    for start in range(0, len(batch), 1000):
        mail.send_many(batch[start : start + 1000])
    queued = time.perf_counter()
    call_command("send_queued_mail", processes=processes)
    finished = time.perf_counter()
    return {
        "seconds": finished - started,
        "render_seconds": rendered - started,
        "queue_seconds": queued - rendered,
        "send_seconds": finished - queued,
        "sent": Email.objects.filter(status=0).count(),
    }


# --------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=10000)
    parser.add_argument("--workers", type=int, default=2, help="worker processes (celery prefork concurrency)")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/pb_bench_delivery")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/13")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--no-postoffice", action="store_true", help="skip the django-post-office comparison")
    parser.add_argument(
        "--dkim",
        choices=["rsa2048", "ed25519", "dual", "none"],
        default="rsa2048",
        help="the workers' DKIM key(s): RSA-2048 (default; what Gmail and Yahoo verify), Ed25519, both, or none",
    )
    args = parser.parse_args()

    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "DJANGO_SETTINGS_MODULE": "benchmarks.settings_postoffice",
        "PAPERBOY_CHUNK_SIZE": os.environ.get("PAPERBOY_CHUNK_SIZE", "250"),
    }
    os.environ.update(env)
    database_recreate(args.database_url)
    import django

    django.setup()
    from django.core.management import call_command

    from paperboy.celery import app

    call_command("migrate", verbosity=0)
    app.control.purge()
    import redis

    # Start from a clean breaker count and rate-limit bucket (only our keys: the db may be shared).
    client = redis.Redis.from_url(args.redis_url)
    for key in client.scan_iter("paperboy:*"):
        client.delete(key)
    now = datetime.now(UTC)
    if now.minute >= 50:
        print("note: close to the hour; the slot is planned for the current hour", file=sys.stderr)
    seeded = time.perf_counter()
    paper_count = world_seed(subscribers=args.subscribers, now=now)
    print(f"seeded {args.subscribers} subscribers and {paper_count} papers in {time.perf_counter() - seeded:.1f}s")

    worker_env = {**env, "DJANGO_SETTINGS_MODULE": "paperboy.settings"}
    from benchmarks.signing import CONFIGURATIONS, dkim_env

    with tempfile.TemporaryDirectory(prefix="paperboy-bench-") as tmp:
        folder = Path(tmp)
        if args.dkim != "none":  # the workers sign as production does
            worker_env.update(dkim_env(folder, kinds=CONFIGURATIONS[args.dkim]))
        ours = paperboy_run(args=args, env=worker_env, folder=folder)
        peer = None if args.no_postoffice else postoffice_run(args=args, env=env, folder=folder)

    report_print(ours=ours, peer=peer, args=args)


def report_print(*, ours: dict, peer: dict | None, args) -> None:
    from django.conf import settings

    from benchmarks.signing import signing_cost, signing_lines

    emails, seconds = ours["emails"], ours["seconds"]
    rate = emails / seconds if seconds else 0.0
    t = ours["timings"]
    per = 1000.0 / max(emails, 1)
    print(
        f"planned {ours['planned']} deliveries ({ours['skipped']} with nothing matched), states {dict(ours['states'])}"
    )
    print(
        f"paperboy: {emails} emails in {seconds:.2f}s = {rate:.0f} emails/s end to end ({args.workers} workers"
        f" x {settings.PAPERBOY_SMTP_CONNECTIONS} SMTP connections per chunk)"
    )
    print(
        f"  time split: plan {ours['plan_seconds']:.2f}s, match {ours['match_seconds']:.2f}s, "
        f"send {ours['send_seconds']:.2f}s (wall, {ours['sent_while_planning']} sent while planning);"
        f" per email in the workers (wall, CPU): render {t['render'] * per:.3f} ms, {t['render_cpu'] * per:.3f} ms;"
        f" SMTP {t['smtp'] * per:.3f} ms, {t['smtp_cpu'] * per:.3f} ms; database {t['db'] * per:.3f} ms,"
        f" {t['db_cpu'] * per:.3f} ms; rate limit {t['ratelimit'] * per:.3f} ms"
    )
    print(
        "  CPU per email: "
        + ", ".join(f"{name} {seconds * per:.2f} ms" for name, seconds in ours["cpu"].items())
        + f", total {sum(ours['cpu'].values()) * per:.2f} ms (of {os.cpu_count()} cores x {seconds:.1f} s"
        f" = {os.cpu_count() * seconds * per:.2f} ms per email available)"
    )
    if peer:
        peer_rate = peer["emails"] / peer["seconds"] if peer["seconds"] else 0.0
        print(
            f"post-office: {peer['emails']} emails in {peer['seconds']:.2f}s = {peer_rate:.0f} emails/s "
            f"(render {peer['render_seconds']:.2f}s, queue {peer['queue_seconds']:.2f}s, "
            f"send_queued_mail {peer['send_seconds']:.2f}s, duplicates {peer['duplicates']})"
        )
        print(f"ratio: paperboy is {rate / peer_rate:.2f}x post-office" if peer_rate else "ratio: n/a")

    print("\n".join(signing_lines(signing_cost(emails=500), result=False)))
    print(
        f"RESULT emails={emails} seconds={seconds:.3f} emails_per_s={rate:.1f} "
        f"duplicates={ours['duplicates']} missing={ours['missing']}"
    )


if __name__ == "__main__":
    main()
