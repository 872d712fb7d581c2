"""Duplicates after a database restart and after a killed worker, counted at the SMTP server.

    python -m benchmarks.reliability [--subscribers 3000] [--case restart|kill|both]

A slot of N digests is planned and sent by a real ``celery worker`` (prefork, the Procfile's) into a
counting SMTP sink that spends ``--relay-ms`` between the final dot and its 250 (a local Postfix spends
4.7 ms median there, docs/DELIVERY.md). Mid-send:

* ``restart``: the worker's database connections go through a TCP proxy that cuts them all and refuses
  new ones for ``--down`` seconds, as a PostgreSQL restart does (the server itself, shared with others,
  is never restarted). The run then completes by itself.
* ``kill``: the worker is SIGKILLed; a new one is started and the sweeper (with a short
  PAPERBOY_SENDING_TIMEOUT) resends what the dead one left in ``sending``.

Each case prints ``RESULT case=<case> emails=<n> duplicates=<n> missing=<n>``: duplicates are digests
the sink received twice.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.counting_sink import Sink
from benchmarks.delivery import database_recreate, worker_start, world_seed
from benchmarks.processes import process_tree


def run_case(*, case: str, args, env: dict[str, str], folder: Path) -> dict:
    from django.db import connection
    from django.utils import timezone

    from digest.delivery.plan import deliveries_plan
    from digest.delivery.sweeper import deliveries_sweep
    from digest.dispatch import chunks_enqueue
    from digest.models import Delivery
    from tests.delivery.dbproxy import DatabaseProxy

    os.environ["PAPERBOY_BENCH_SINK_DELAY"] = str(args.relay_ms / 1000)
    sink = Sink(folder, f"sink-{case}")
    cfg = connection.settings_dict
    proxy = DatabaseProxy(upstream=(cfg["HOST"] or "127.0.0.1", int(cfg["PORT"] or 5432))).start()
    worker_env = {
        **env,
        "DATABASE_URL": args.database_url.replace(":5432/", f":{proxy.port}/"),
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(sink.port),
        "EMAIL_TIMEOUT": "1",
        "PAPERBOY_SENDING_TIMEOUT": "8",
    }
    worker = worker_start(env=worker_env, workers=args.workers, log=folder / f"worker-{case}.log")
    plan = deliveries_plan(on_chunks=chunks_enqueue)
    expected = sum(len(c) for c in plan.chunks)
    while sink.count() < expected // 3 + 117:  # in the middle of a chunk, not between two
        time.sleep(0.01)
    if case == "restart":
        threading.Thread(target=proxy.restart, kwargs={"down_seconds": args.down}, daemon=True).start()
    else:
        # The worker and its pool processes at once, as a host dying would (they share our process group).
        for pid in process_tree(worker.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        worker.wait(timeout=30)
        worker = worker_start(env=worker_env, workers=args.workers, log=folder / f"worker-{case}-2.log")
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        # The beat's jobs, run here every second: the sweeper (rows a dead worker left in sending, past
        # the 8 s timeout) and the requeue of pending rows (chunks the dead worker had taken).
        deliveries_sweep(now=timezone.now())
        open_rows = Delivery.objects.filter(state__in=["pending", "sending"])
        if not open_rows.exists():
            break
        stale = open_rows.filter(state="pending", planned_at__lt=timezone.now() - timedelta(seconds=5))
        ids = list(stale.values_list("id", flat=True))
        if ids:
            chunks_enqueue([ids[i : i + 250] for i in range(0, len(ids), 250)])
        time.sleep(1.0)
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=60)
    proxy.stop()
    report = sink.close()
    logs = "".join(log.read_text(errors="replace") for log in folder.glob("worker-*.log"))
    Path(f"/tmp/mailwork/rel-{case}.log").write_text(logs)
    counts = Counter(report["counts"])
    emails = set(Delivery.objects.filter(id__in=[i for c in plan.chunks for i in c]).values_list("to_email", flat=True))
    return {
        "case": case,
        "emails": report["total"],
        "duplicates": sum(n - 1 for n in counts.values() if n > 1),
        "missing": len(emails - set(counts)),
        "states": dict(Counter(Delivery.objects.values_list("state", flat=True))),
        "resent_by_sweeper": Delivery.objects.filter(last_error__contains="worker was lost").count(),
        # Accepted messages whose "sent" met the outage and was written on a later try.
        "recorded_late": logs.count("database back: recording delivery"),
        "chunk_retries": logs.count("database unavailable ("),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--case", choices=["restart", "kill", "both"], default="both")
    parser.add_argument("--relay-ms", type=float, default=5.0, help="the sink's time between the final dot and 250")
    parser.add_argument("--down", type=float, default=3.0, help="seconds the database stays unreachable")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/pb_bench_reliability")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/13")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "DJANGO_SETTINGS_MODULE": "paperboy.settings",
        "PAPERBOY_CHUNK_SIZE": "250",
        # Short enough for the sweeper (run here) to take over a dead worker's rows within the run.
        "EMAIL_TIMEOUT": "1",
        "PAPERBOY_SENDING_TIMEOUT": "8",
    }
    os.environ.update(env)
    import django

    cases = ["restart", "kill"] if args.case == "both" else [args.case]
    results = []
    for case in cases:
        database_recreate(args.database_url)
        django.setup()
        from django.core.management import call_command
        from django.db import connection

        from paperboy.celery import app

        connection.close()
        call_command("migrate", verbosity=0)
        app.conf.task_always_eager = False
        app.control.purge()
        world_seed(subscribers=args.subscribers, now=datetime.now(UTC))
        with tempfile.TemporaryDirectory(prefix="paperboy-reliability-") as tmp:
            results.append(run_case(case=case, args=args, env=env, folder=Path(tmp)))
    for r in results:
        print(
            f"{r['case']}: states {r['states']}, {r['resent_by_sweeper']} row(s) resent by the sweeper, "
            f"{r['recorded_late']} accepted message(s) recorded after the outage, {r['chunk_retries']} chunk retries"
        )
        print(f"RESULT case={r['case']} emails={r['emails']} duplicates={r['duplicates']} missing={r['missing']}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
