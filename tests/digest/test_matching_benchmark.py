"""The benchmark's code path at a small size: both methods must find the same subscriber-paper pairs."""

from __future__ import annotations

from benchmarks import matching as bench


def test_small_benchmark_run_agrees_with_the_naive_loop(corpus_path):
    result = bench.run(200, 80, seed=3, sample=20, corpus_path=corpus_path)
    assert result["disagreements"] == []
    assert result["sample_pairs"] > 0
    assert result["pairs"] >= result["delivered"] > 0
    assert result["with_matches"] <= 200


def test_benchmark_prints_a_table_and_a_result_line(corpus_path, capsys):
    assert bench.main(["--subscribers", "60", "--papers", "40", "--sample", "8", "--corpus", str(corpus_path)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("RESULT seconds=")
    fields = dict(part.split("=") for part in lines[-1].split()[1:])
    assert set(fields) == {"seconds", "peak_mib", "pairs", "naive_ratio"}
    assert float(fields["seconds"]) > 0 and int(fields["pairs"]) > 0
    assert any("sample agreement" in line and "OK" in line for line in lines)
