"""The fault tests' Celery workers start warm (tests/workers.py): forked from a server that has imported
the libraries. Such a worker is the one ``python -m celery`` starts, with the same configuration."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis, pytest.mark.slow]


def worker_name(worker) -> str:
    return next(line.split()[1] for line in worker.output().splitlines() if line.startswith(" -------------- test-"))


def same_order(conf: dict) -> dict:
    """Celery reports its ``include`` set as a list, in the order that process's set happened to have."""
    return {**conf, "include": sorted(conf["include"])}


def test_a_warm_worker_has_the_configuration_and_tasks_of_one_started_by_python_m_celery(celery_worker_process):
    from paperboy.celery import app

    env = {"PAPERBOY_CHUNK_SIZE": "7", "EMAIL_PORT": "2525"}
    cold = celery_worker_process(env=env, warm=False)
    warm = celery_worker_process(env=env)
    names = [worker_name(cold), worker_name(warm)]
    inspect = app.control.inspect(destination=names, timeout=10)

    conf, registered, stats = inspect.conf(), inspect.registered(), inspect.stats()

    assert same_order(conf[names[1]]) == same_order(conf[names[0]])
    assert registered[names[1]] == registered[names[0]] != []
    pools = [{k: v for k, v in stats[name]["pool"].items() if k != "processes"} for name in names]  # pids differ
    assert pools[1] == pools[0]
    assert stats[names[1]]["pid"] != stats[names[0]]["pid"]
    assert "MainProcess" in warm.output() and "ForkServerProcess" not in warm.output()
