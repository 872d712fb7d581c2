"""The planning benchmark runs end to end at a small size and prints what docs/PERFORMANCE.md records."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import service_missing

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]


def test_the_planning_benchmark_plans_every_subscriber_and_prints_its_figures(corpus_path):
    database = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if not database.startswith("postgres") or not redis_url:
        service_missing("the planning benchmark needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)")
    bench_db = database + "_plan_test"  # beside the test database: two checkouts never share it
    done = subprocess.run(
        [
            *(sys.executable, "-m", "benchmarks.planning", "--subscribers", "400", "--papers", "80"),
            *("--processes", "1", "--shard-size", "150", "--database-url", bench_db, "--redis-url", redis_url),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr[-3000:]
    assert "400 subscribers due, 3 shards of at most 150, 1 planning processes" in out
    for phase in ("seed subscriptions (COPY)", "beat: due lookup + split + queue", "plan every shard (wall)"):
        assert phase in out
    assert re.search(r"peak memory per planning process: \d+ MiB", out)
    assert re.search(r"storage: \d+ bytes per Delivery row as planned .* after pruning \d+ bytes per row", out)
    result = re.search(
        r"^RESULT subscribers=400 seconds=([\d.]+) cpu_ms_per_subscriber=([\d.]+) "
        r"peak_mib_per_process=([\d.]+) first_chunk_s=([\d.]+)$",
        out,
        re.MULTILINE,
    )
    assert result, out
    seconds, cpu, peak, first = map(float, result.groups())
    assert 0 < first <= seconds and cpu > 0 and peak > 50
