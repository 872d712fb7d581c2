"""Planning one slot for many subscribers, sharded over planning workers, on PostgreSQL and Redis.

    python -m benchmarks.planning --subscribers 1000000 --papers 2000 --processes 2

What runs, on this machine:
  * a fresh PostgreSQL database (``--database-url``, default ``pb_plan_bench``, dropped and created),
    seeded with COPY: ``--papers`` papers recombined from the shared corpus (as in
    ``benchmarks.matching``), ingested an hour ago, and ``--subscribers`` verified subscribers with
    3-8 of 4,000 interests each (popularity-skewed), all due in the current hour (one slot opens for
    all of them);
  * ``--processes`` planning workers: ``celery worker -Q planning --pool solo`` each (one process
    each, the Procfile's ``planner``) on Redis (``--redis-url``);
  * the clock starts, the beat's task runs here (the due lookup, the split into shards, one task each),
    the workers plan the shards, and the clock stops when every due subscriber has a row.
Nothing is sent: the chunks go to the ``sending`` queue, where the benchmark only counts them (the
time to the first queued chunk is measured there). ``benchmarks.delivery`` measures sending.

Printed: per-phase times, the CPU of the planners (and of the beat and PostgreSQL beside), per
subscriber, the peak memory (VmHWM) of each planning process, the time to the first queued chunk,
the bytes per Delivery row before and after pruning; the last line is
``RESULT subscribers= seconds= cpu_ms_per_subscriber= peak_mib_per_process= first_chunk_s=``
(cpu_ms_per_subscriber: the planning workers' CPU; peak: the largest of them).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.delivery import database_recreate
from benchmarks.matching import CORPUS, load_corpus, make_interest_pool, make_papers, make_profiles
from benchmarks.processes import celery_worker_start, cpu_seconds, postgres_cpu_seconds

REPO = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------------------------------
# Seeding with COPY
# --------------------------------------------------------------------------------------------------


def copy_rows(cursor, model, columns: list[str], rows: Iterable[tuple]) -> int:
    """COPY ``rows`` into ``model``'s table; every other column gets its model default."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    given = set(columns)
    fixed = [(f.column, _default(f)) for f in fields if f.attname not in given and f.column not in given]
    names = [*columns, *(c for c, _ in fixed)]
    tail = tuple(v for _, v in fixed)
    count = 0
    quoted = ", ".join(f'"{name}"' for name in names)
    with cursor.copy(f"COPY {model._meta.db_table} ({quoted}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row + tail)
            count += 1
    return count


def _default(field) -> object:
    value = field.get_default()
    if field.get_internal_type() == "JSONField":
        return json.dumps(value)
    if value is None and not field.null:
        return datetime.now(UTC) if field.get_internal_type() == "DateTimeField" else ""
    return value


def world_seed(*, subscribers: int, papers: int, now: datetime, seed: int) -> dict[str, float]:
    """Papers ingested an hour ago; verified subscribers all due now. Returns seconds per table."""
    from allauth.account.models import EmailAddress
    from django.db import connection

    from accounts.models import User
    from digest.models import Interest, Paper, Subscription

    rng = random.Random(seed)
    corpus = load_corpus(CORPUS)
    timings: dict[str, float] = {}
    connection.ensure_connection()
    due = now.replace(minute=0, second=0, microsecond=0)
    with connection.cursor() as django_cursor:
        cursor = django_cursor.cursor  # psycopg's own cursor, for COPY
        started = time.perf_counter()
        docs = make_papers(corpus, papers, rng)
        copy_rows(
            cursor,
            Paper,
            ["id", "external_id", "title_key", "title", "abstract", "authors", "categories", "ingested_at"],
            (
                (
                    d.key,
                    f"bench:{d.key}",
                    f"bench {d.key}",
                    d.title,
                    d.abstract,
                    json.dumps(list(d.authors)),
                    json.dumps(list(d.categories)),
                    now - timedelta(hours=1),
                )
                for d in docs
            ),
        )
        timings["papers"] = time.perf_counter() - started
        started = time.perf_counter()
        ids = range(1, subscribers + 1)
        copy_rows(cursor, User, ["id", "email", "password"], ((i, f"r{i}@example.org", "!") for i in ids))
        copy_rows(
            cursor,
            EmailAddress,
            ["id", "user_id", "email", "verified", "primary"],
            ((i, i, f"r{i}@example.org", True, True) for i in ids),
        )
        timings["users"] = time.perf_counter() - started
        started = time.perf_counter()
        profiles = list(_profiles(corpus, subscribers, rng))
        copy_rows(
            cursor,
            Subscription,
            ["id", "user_id", "send_hour", "timezone", "max_papers", "muted_words", "next_due_at"],
            (
                (i, i, due.hour, "UTC", p.limit, json.dumps(list(p.muted)), due)
                for i, p in zip(ids, profiles, strict=True)
            ),
        )
        copy_rows(
            cursor,
            Interest,
            ["subscription_id", "query", "position"],
            ((i, q, n) for i, p in zip(ids, profiles, strict=True) for n, q in enumerate(p.interests)),
        )
        timings["subscriptions"] = time.perf_counter() - started
        for table in ("accounts_user", "account_emailaddress", "digest_subscription", "digest_interest"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    connection.commit() if not connection.get_autocommit() else None
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    timings["analyze"] = time.perf_counter() - started
    return timings


def world_reset(*, now: datetime) -> float:
    """``--reuse-database``: the world a previous run seeded, due again now (its rows and runs deleted,
    every subscriber due this hour, the papers ingested an hour ago). Returns the seconds it took."""
    from django.db import connection

    started = time.perf_counter()
    due = now.replace(minute=0, second=0, microsecond=0)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE digest_delivery, digest_deliveryrun CASCADE")
        cursor.execute("UPDATE digest_subscription SET next_due_at = %s", [due])
        cursor.execute("UPDATE digest_paper SET ingested_at = %s", [now - timedelta(hours=1)])
        cursor.execute("VACUUM ANALYZE digest_subscription")
        cursor.execute("VACUUM ANALYZE digest_paper")
    return time.perf_counter() - started


def _profiles(corpus: list[dict], count: int, rng: random.Random) -> Iterator:
    """The matching benchmark's subscribers (3-8 of 4,000 interests), made in blocks to bound memory.
    One pool for all blocks: a pool per block gave a million subscribers ten pools (40,000 interests),
    not the 4,000 the workload says."""
    block = 100_000
    pool = make_interest_pool(corpus, 4000, rng)
    for start in range(0, count, block):
        yield from make_profiles(corpus, min(block, count - start), rng, pool=pool, first_key=start + 1)


# --------------------------------------------------------------------------------------------------
# The planners
# --------------------------------------------------------------------------------------------------


def planner_start(*, env: dict[str, str], log: Path, n: int) -> subprocess.Popen:
    return celery_worker_start(env=env, log=log, name=f"plan{n}", options=("-Q", "planning", "--pool", "solo"))


def peak_mib(pid: int) -> float:
    """The process's peak resident memory (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return 0.0


def bytes_per_row(cursor) -> tuple[float, float]:
    """Average bytes of a Delivery row as stored (pg_column_size: after TOAST compression) and of its content."""
    cursor.execute("SELECT avg(pg_column_size(d.*)), avg(pg_column_size(d.content)) FROM digest_delivery d")
    row, content = cursor.fetchone()
    return float(row or 0), float(content or 0)


def _first_chunk_watch(client, clock: float, seen: list[float], timeout: float = 600.0) -> None:
    """Record when the ``sending`` queue first holds a chunk (seconds after ``clock``)."""
    while time.perf_counter() - clock < timeout:
        if client.llen("sending"):
            seen.append(time.perf_counter() - clock)
            return
        time.sleep(0.01)


def plan_measure(*, args, env: dict[str, str], client, phases: dict[str, float]) -> dict:
    """Start the planners, run the beat's task, and wait until every due subscriber has a row."""
    from digest.models import DeliveryRun

    with tempfile.TemporaryDirectory(prefix="paperboy-plan-bench-") as tmp:
        planners = [planner_start(env=env, log=Path(tmp) / f"planner{n}.log", n=n) for n in range(args.processes)]
        pids = [p.pid for p in planners]
        try:
            from digest.tasks.beat import digest_plan_task

            cpu_before = {"planners": cpu_seconds(pids), "postgres": postgres_cpu_seconds()}
            beat_cpu = time.process_time()
            clock = time.perf_counter()
            # The first chunk may be queued while the beat is still cutting the rest into shards: watch
            # for it from the start, beside the beat.
            first_seen: list[float] = []
            watcher = threading.Thread(target=_first_chunk_watch, args=(client, clock, first_seen), daemon=True)
            watcher.start()
            shards = digest_plan_task()
            phases["beat: due lookup + split + queue"] = time.perf_counter() - clock
            beat_cpu = time.process_time() - beat_cpu
            first_chunk = None
            deadline = time.monotonic() + args.timeout
            run_id = DeliveryRun.objects.order_by("-id").values_list("id", flat=True).first()
            planned = 0
            while time.monotonic() < deadline:
                if first_chunk is None and first_seen:
                    first_chunk = first_seen[0]
                planned = DeliveryRun.objects.filter(id=run_id).values_list("planned", flat=True).first() or 0
                if planned >= args.subscribers:
                    break
                if any(p.poll() is not None for p in planners):
                    raise RuntimeError(
                        "a planner died:\n"
                        + "\n".join(Path(tmp, f"planner{n}.log").read_text()[-2000:] for n in range(len(planners)))
                    )
                time.sleep(0.05 if first_chunk is None else 0.5)
            seconds = time.perf_counter() - clock
            phases["plan every shard (wall)"] = seconds
            cpu = {
                "planners": cpu_seconds(pids) - cpu_before["planners"],
                "beat": beat_cpu,
                "postgres": postgres_cpu_seconds() - cpu_before["postgres"],
            }
            peaks = [peak_mib(pid) for pid in pids]
        finally:
            for p in planners:
                p.terminate()
            for p in planners:
                p.wait(timeout=60)
    return {
        "planned": planned,
        "shards": shards,
        "seconds": seconds,
        "cpu": cpu,
        "peaks": peaks,
        "first_chunk": first_chunk if first_chunk is not None else float("nan"),
    }


def run(args) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "DJANGO_SETTINGS_MODULE": "paperboy.settings",
    }
    if args.shard_size:
        env["PAPERBOY_PLAN_SHARD_SIZE"] = str(args.shard_size)
    os.environ.update(env)
    phases: dict[str, float] = {}
    started = time.perf_counter()
    if not args.reuse_database:
        database_recreate(args.database_url)
    import django

    django.setup()
    import redis
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from paperboy.celery import app

    call_command("migrate", verbosity=0)
    phases["create + migrate"] = time.perf_counter() - started
    client = redis.Redis.from_url(args.redis_url)
    client.delete("planning", "sending", "celery")
    now = datetime.now(UTC)
    if args.reuse_database:
        phases.update({"reset the seeded world": world_reset(now=now)})
    else:
        seeding = world_seed(subscribers=args.subscribers, papers=args.papers, now=now, seed=args.seed)
        phases.update({f"seed {name} (COPY)": s for name, s in seeding.items()})

    app.conf.task_always_eager = False
    measured = plan_measure(args=args, env=env, client=client, phases=phases)
    chunks = client.llen("sending")
    client.delete("sending")
    storage = {}
    if not args.skip_storage:
        storage = storage_measure(now=now, subscribers=args.subscribers)
    connection.close()
    return {
        "subscribers": args.subscribers,
        **measured,
        "shard_size": settings.PAPERBOY_PLAN_SHARD_SIZE,
        "phases": phases,
        "chunks": chunks,
        "storage": storage,
    }


def storage_measure(*, now: datetime, subscribers: int) -> dict[str, float]:
    """Bytes per row as planned, the table's bytes per subscriber, and the row after pruning."""
    from django.db import connection

    from digest.delivery.prune import deliveries_prune

    with connection.cursor() as cursor:
        row, content = bytes_per_row(cursor)
        cursor.execute("SELECT pg_total_relation_size('digest_delivery')")
        (total,) = cursor.fetchone()
        started = time.perf_counter()
        pruned = deliveries_prune(now=now + timedelta(days=31), days=30)
        prune_seconds = time.perf_counter() - started
        after_row, after_content = bytes_per_row(cursor)
    return {
        "row": row,
        "content": content,
        "table_per_subscriber": total / max(subscribers, 1),
        "pruned_row": after_row,
        "pruned_content": after_content,
        "trimmed": pruned.trimmed,
        "deleted": pruned.deleted,
        "prune_seconds": prune_seconds,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--papers", type=int, default=2_000)
    parser.add_argument("--processes", type=int, default=2, help="planning worker processes")
    parser.add_argument("--shard-size", type=int, default=0, help="PAPERBOY_PLAN_SHARD_SIZE (default: the setting)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("PLAN_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pb_plan_bench"),
    )
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/12")
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument(
        "--reuse-database",
        action="store_true",
        help="plan again the world a previous run with the same --subscribers seeded (skips the seeding)",
    )
    parser.add_argument("--skip-storage", action="store_true", help="skip the bytes-per-row and pruning measurement")
    args = parser.parse_args(argv)
    if os.environ.get("DATABASE_URL", "").rsplit("/", 1)[-1] == args.database_url.rsplit("/", 1)[-1]:
        parser.error("--database-url is dropped and re-created: it must not be DATABASE_URL")

    r = run(args)
    n = r["subscribers"]
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    print(
        f"{n} subscribers due, {r['shards']} shards of at most {r['shard_size']}, {args.processes} planning processes"
    )
    for name, seconds in r["phases"].items():
        print(f"  {name:<40} {seconds:8.2f} s")
    per = 1000.0 / max(n, 1)
    print(
        "CPU per subscriber: "
        + ", ".join(f"{name} {seconds * per:.3f} ms" for name, seconds in r["cpu"].items())
        + f" (planners {r['cpu']['planners']:.1f} s CPU in {r['seconds']:.1f} s wall)"
    )
    print("peak memory per planning process: " + ", ".join(f"{m:.0f} MiB" for m in r["peaks"]))
    print(f"first chunk queued after {r['first_chunk']:.2f} s; {r['chunks']} chunks queued; {r['planned']} rows")
    if r["storage"]:
        s = r["storage"]
        print(
            f"storage: {s['row']:.0f} bytes per Delivery row as planned (content {s['content']:.0f}),"
            f" table + TOAST + indexes {s['table_per_subscriber']:.0f} bytes per subscriber;"
            f" after pruning {s['pruned_row']:.0f} bytes per row (content {s['pruned_content']:.0f});"
            f" {s['trimmed']} trimmed in {s['prune_seconds']:.1f} s"
        )
    print(
        f"RESULT subscribers={n} seconds={r['seconds']:.3f} cpu_ms_per_subscriber={r['cpu']['planners'] * per:.4f} "
        f"peak_mib_per_process={max(r['peaks'] or [0]):.1f} first_chunk_s={r['first_chunk']:.3f}"
    )
    return 0 if r["planned"] >= n else 1


if __name__ == "__main__":
    sys.exit(main())
