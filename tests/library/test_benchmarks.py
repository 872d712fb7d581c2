"""The library's two benchmarks run end to end at a small size and print their RESULT lines."""

from __future__ import annotations

import json
import re

from benchmarks import library as scale_bench
from benchmarks import relevance as relevance_bench


def test_the_scale_benchmark_ranks_every_library_and_prints_its_result(corpus_path, capsys):
    argv = ["--subscribers", "40", "--papers", "120", "--catalog", "300"]
    assert scale_bench.main(argv) == 0
    out = capsys.readouterr().out
    assert "subscribers=40 papers=120" in out
    last = out.strip().splitlines()[-1]
    match = re.fullmatch(r"RESULT seconds=([\d.]+) peak_mib=([\d.]+) pairs=(\d+)", last)
    assert match, last
    # Every library gets up to the fusion's pool (3x a digest of 10), at most one entry per paper.
    assert 0 < int(match.group(3)) <= 40 * 30


def test_the_relevance_benchmark_prints_each_arm_and_its_result(corpus_path, capsys, tmp_path):
    # One judged topic (the first committed one): the shape of the output, not the figures.
    judged = json.loads(relevance_bench.JUDGEMENTS.read_text(encoding="utf-8"))
    small = tmp_path / "one-topic.json"
    small.write_text(json.dumps({**judged, "topics": judged["topics"][:1]}), encoding="utf-8")

    assert relevance_bench.main(["--corpus", str(corpus_path), "--judgements", str(small)]) == 0
    out = capsys.readouterr().out
    assert judged["topics"][0]["name"] in out
    assert "topics where both < keywords alone:" in out
    last = out.strip().splitlines()[-1]
    match = re.fullmatch(
        r"RESULT keywords_p10=([\d.]+) like_p10=([\d.]+) both_p10=([\d.]+) baseline_p10=([\d.]+)", last
    )
    assert match, last
    assert all(0.0 <= float(v) <= 1.0 for v in match.groups())
