"""Fault tests with real processes: Celery workers in subprocesses on a real Redis, the real
PostgreSQL, and an SMTP server on loopback whose replies are scripted per recipient. Each test
counts what the server actually accepted."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import Counter

import pytest
from django.utils.timezone import now as timezone_now

from digest.delivery.plan import deliveries_plan
from digest.mailsink import free_port
from digest.models import Delivery, Suppression
from tests.conftest import WorkerProcess, service_missing
from tests.delivery.conftest import readers_due, wait_until, worker_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


def queue_chunks(chunks: list[list[int]], *, times: int = 1) -> None:
    from digest.tasks.delivery import deliveries_send_chunk_task

    for _ in range(times):
        for chunk in chunks:
            deliveries_send_chunk_task.delay(chunk)


def states() -> Counter:
    return Counter(Delivery.objects.values_list("state", flat=True))


def assert_exactly_once(smtp, subscribers) -> None:
    """Every subscriber got one message, none twice, and the rows say exactly what the server took."""
    emails = {s.user.email for s in subscribers}
    received = smtp.received_by()
    assert {rcpt: n for rcpt, n in received.items() if n != 1} == {}, "someone got a digest twice"
    assert set(received) == emails, f"missing: {sorted(emails - set(received))}"
    sent_rows = dict(Delivery.objects.filter(state=Delivery.State.SENT).values_list("to_email", "message_id"))
    assert sent_rows == {a.rcpt: a.message_id for a in smtp.accepted}


def test_transient_errors_recover_through_retries_and_permanent_ones_end_failed_and_only_a_bad_mailbox_suppressed(
    postgres_db, scripted_smtp, celery_worker_process
):
    readers = readers_due(10)
    email = [r.user.email for r in readers]
    scripted_smtp.stall_seconds = 3
    scripted_smtp.script(email[0], "421", "250")
    scripted_smtp.script(email[1], "451", "451", "250")
    scripted_smtp.script(email[2], "452", "250")
    scripted_smtp.script(email[3], "552", "250")
    scripted_smtp.script(email[4], "stall", "250")
    scripted_smtp.script(email[5], "drop", "250")
    scripted_smtp.script(email[6], "550")
    scripted_smtp.script(email[7], "554")
    worker = celery_worker_process(env=worker_env(scripted_smtp))

    plan = deliveries_plan()
    queue_chunks(plan.chunks)
    wait_until(
        lambda: states() == Counter({"sent": 8, "failed": 2}), timeout=30, what="every row settled", worker=worker
    )

    ok = [e for e in email if e not in (email[6], email[7])]
    received = scripted_smtp.received_by()
    assert received == Counter({e: 1 for e in ok})
    assert_exactly_once(scripted_smtp, [r for r in readers if r.user.email in ok])
    failed = {d.to_email: d for d in Delivery.objects.filter(state=Delivery.State.FAILED)}
    assert set(failed) == {email[6], email[7]}
    assert failed[email[6]].last_error.startswith("550") and failed[email[7]].last_error.startswith("554")
    # 550 5.1.1 names the mailbox; 554 5.6.0 after DATA refuses this message's content, not the address.
    assert set(Suppression.objects.filter(active=True).values_list("email", flat=True)) == {email[6]}
    retried = dict(Delivery.objects.filter(to_email__in=email[:6]).values_list("to_email", "attempts"))
    assert retried == {email[0]: 2, email[1]: 3, email[2]: 2, email[3]: 2, email[4]: 2, email[5]: 2}
    # Bounces can find their delivery: VERP envelope sender and the signed header.
    first = scripted_smtp.accepted[0]
    assert first.mail_from.startswith("bounces+") and first.headers["X-Paperboy-Delivery"] in first.mail_from
    assert "bounces+" not in first.headers["From"]


@pytest.mark.parametrize(
    "connections, at_the_kill",
    [
        # One connection: rows go in order, so the first five are sent and the rest wait.
        (1, Counter({"sent": 5, "sending": 1, "pending": 6})),
        # Three: rows are dealt round-robin (0,3,6,9 / 1,4,7,10 / 2,5,8,11); the other two finish theirs.
        (3, Counter({"sent": 9, "sending": 1, "pending": 2})),
    ],
)
def test_a_worker_killed_mid_chunk_leaves_no_duplicate_and_no_gap_once_the_run_resumes(
    postgres_db, scripted_smtp, celery_worker_process, settings, connections, at_the_kill
):
    from digest.tasks.beat import digest_plan_task

    readers = readers_due(12)
    # The 6th message is in flight (RCPT sent, no reply yet) when the worker dies.
    scripted_smtp.script(readers[5].user.email, "hold")
    env = worker_env(scripted_smtp, PAPERBOY_SMTP_CONNECTIONS=str(connections))
    first = celery_worker_process(env=env)
    plan = deliveries_plan()
    queue_chunks(plan.chunks)
    wait_until(scripted_smtp.held.is_set, what="the held message", worker=first)
    wait_until(lambda: states() == at_the_kill, what="the other connections done", worker=first)

    first.process.send_signal(signal.SIGKILL)
    first.process.wait(timeout=10)
    scripted_smtp.release.set()
    assert states() == at_the_kill

    # Resume: a new worker, and the beat's task, which reconciles rows left in ``sending`` once the
    # sending timeout has passed and queues every pending row again.
    celery_worker_process(env=env)
    settings.PAPERBOY_SENDING_TIMEOUT = 0.5
    settings.PAPERBOY_REQUEUE_AFTER_SECONDS = 0
    time.sleep(0.6)
    digest_plan_task()
    wait_until(lambda: states() == Counter({"sent": 12}), what="all 12 sent", worker=first)

    assert_exactly_once(scripted_smtp, readers)
    held = Delivery.objects.get(to_email=readers[5].user.email)
    assert held.attempts == 2 and "worker was lost" not in held.last_error  # sent cleanly the second time


def test_two_workers_running_the_same_slot_at_once_send_each_digest_once(
    postgres_db, scripted_smtp, celery_worker_process, settings
):
    from digest.tasks.beat import digest_plan_task

    readers = readers_due(30)
    scripted_smtp.delay_seconds = 0.01
    settings.PAPERBOY_CHUNK_SIZE = 5
    env = worker_env(scripted_smtp, PAPERBOY_CHUNK_SIZE="5")
    workers = celery_worker_process.several(2, env=env)

    plan = deliveries_plan()
    # Every chunk is queued three times (a beat that ran twice, an operator re-queueing by hand).
    queue_chunks(plan.chunks, times=2)
    digest_plan_task()  # plans nothing new, queues every pending row once more
    wait_until(lambda: states() == Counter({"sent": 30}), what="all 30 sent", worker=workers)

    assert_exactly_once(scripted_smtp, readers)
    assert all(w.output().count("succeeded") > 0 for w in workers), "both workers took part"


def test_a_planner_killed_mid_shard_leaves_its_rest_to_the_next_beat_with_no_duplicate_and_no_gap(
    postgres_db, scripted_smtp, celery_worker_process, settings
):
    import psycopg

    from digest.selectors.delivery import subscriptions_due_ids
    from digest.tasks.beat import digest_plan_task
    from tests.conftest import database_url_for_subprocess

    readers = readers_due(12)
    env = worker_env(scripted_smtp, PAPERBOY_CHUNK_SIZE="1")
    planner = celery_worker_process(env=env)
    # Hold the last reader's row: the shard's first batch (one row, one chunk) commits, the second
    # blocks when it moves its subscribers' next slot -- mid-shard, rows inserted, not committed.
    lock = psycopg.connect(database_url_for_subprocess())
    lock.execute("SELECT id FROM digest_subscription WHERE id = %s FOR UPDATE", [readers[-1].id])
    try:
        assert digest_plan_task() == 1
        wait_until(lambda: Delivery.objects.count() == 1, what="the first batch committed", worker=planner)
        time.sleep(0.5)  # the second batch is waiting on the lock
        planner.process.send_signal(signal.SIGKILL)
        planner.process.wait(timeout=10)
    finally:
        lock.rollback()
        lock.close()
    wait_until(lambda: Delivery.objects.count() == 1, what="the killed batch rolled back")
    still_due = subscriptions_due_ids(now=timezone_now())
    assert len(still_due) == 11, "the rest of the shard is still due"

    # The next beat plans what the dead planner left; a new worker plans and sends everything.
    worker = celery_worker_process(env=env)
    assert digest_plan_task() == 1
    wait_until(lambda: states() == Counter({"sent": 12}), timeout=60, what="all 12 sent", worker=worker, state=states)
    assert_exactly_once(scripted_smtp, readers)
    assert Delivery.objects.count() == 12


def test_two_planners_on_the_same_slot_plan_and_send_each_digest_once(
    postgres_db, scripted_smtp, celery_worker_process, settings
):
    from digest.tasks.beat import digest_plan_task

    readers = readers_due(24)
    settings.PAPERBOY_PLAN_SHARD_SIZE = 5
    env = worker_env(scripted_smtp, PAPERBOY_CHUNK_SIZE="3", PAPERBOY_PLAN_SHARD_SIZE="5")
    workers = celery_worker_process.several(2, env=env)

    # Two beats in a row before anything is planned: every shard is queued twice, and the two
    # planners take them as they come (the same shard at the same time, or one after the other).
    assert digest_plan_task() == 5
    assert digest_plan_task() == 5
    wait_until(lambda: states() == Counter({"sent": 24}), timeout=60, what="all 24 sent", worker=workers, state=states)

    assert_exactly_once(scripted_smtp, readers)
    assert Delivery.objects.count() == 24
    planned = [w.output().count("planned shard") for w in workers]
    assert sum(planned) == 10, planned  # ten shard tasks ran; the second plan of each planned nothing


class PrivateRedis:
    """A redis-server of our own on a free port (never the shared one), that the test kills and starts."""

    def __init__(self, *, port: int, folder: str) -> None:
        self.port, self.folder = port, folder
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process = self.start()

    def start(self) -> subprocess.Popen:
        self.process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.folder),
                *("--save", "", "--appendonly", "yes", "--appendfsync", "always"),
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_until(lambda: _redis_ping(self.port), timeout=10, what="redis-server up")
        return self.process

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


@pytest.fixture
def private_redis():
    if shutil.which("redis-server") is None:
        service_missing("redis-server is not installed")
    folder = tempfile.mkdtemp(prefix="paperboy-redis-")
    redis = PrivateRedis(port=free_port(), folder=folder)
    try:
        yield redis
    finally:
        redis.process.terminate()
        redis.process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def broker_switch(app, url: str) -> None:
    """Point this process's publisher at another broker (the app and kombu cache connection pools)."""
    from kombu import pools

    pools.reset()
    app.conf.broker_url = url
    app._pool = None
    app.amqp._producer_pool = None


def _redis_ping(port: int) -> bool:
    import redis

    try:
        return bool(redis.Redis(port=port, socket_timeout=0.2).ping())
    except redis.RedisError:
        return False


def test_a_redis_restart_during_the_run_completes_the_run_and_duplicates_nothing(
    postgres_db, scripted_smtp, private_redis, settings
):
    from digest.tasks.beat import digest_plan_task
    from paperboy.celery import app

    url = private_redis.url
    readers = readers_due(24)
    scripted_smtp.delay_seconds = 0.05
    killed = threading.Event()

    def kill_mid_chunk(accepted: int) -> None:
        # The first chunk's 4th message is in, its 250 not yet sent: the worker is in the middle of a chunk.
        if accepted == 4:
            private_redis.kill()
            killed.set()

    scripted_smtp.on_accept = kill_mid_chunk
    settings.PAPERBOY_CHUNK_SIZE = 6
    settings.PAPERBOY_RATELIMIT_REDIS_URL = url
    previous = app.conf.broker_url, app.conf.task_always_eager
    broker_switch(app, url)
    app.conf.task_always_eager = False
    # The rate limiter talks to the same Redis, so its fallback is exercised too.
    env = worker_env(
        scripted_smtp, PAPERBOY_CHUNK_SIZE="6", PAPERBOY_RATE_PER_SECOND="500", PAPERBOY_RATELIMIT_REDIS_URL=url
    )
    worker = WorkerProcess(redis_url=url, env=env)
    try:
        worker.wait_ready()
        plan = deliveries_plan()
        queue_chunks(plan.chunks)
        wait_until(killed.is_set, what="Redis killed with the run under way", worker=worker)
        time.sleep(0.3)
        private_redis.start()
        wait_until(
            lambda: len(scripted_smtp.accepted) >= 24,
            timeout=45,
            what="the run completed",
            worker=worker,
            state=lambda: f"{len(scripted_smtp.accepted)} accepted, rows {dict(states())}",
        )
        # A beat after the restart finds nothing left to do and sends nothing again.
        digest_plan_task()
        time.sleep(1)
    finally:
        worker.stop()
        broker_switch(app, previous[0])
        app.conf.task_always_eager = previous[1]

    assert states() == Counter({"sent": 24})
    assert_exactly_once(scripted_smtp, readers)
    assert os.path.exists(worker.log_path)
