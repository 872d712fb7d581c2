"""The replay benchmark runs end to end on the small setting and shows learning helps."""

from __future__ import annotations

import re

from benchmarks import feedback as bench


def test_small_replay_reports_precision_and_learning_beats_keywords(corpus_path, capsys):
    assert bench.main(["--small", "--corpus", str(corpus_path)]) == 0
    out = capsys.readouterr().out
    days = re.findall(r"^day +(\d+) +keywords_p10=([\d.]+) +learned_p10=([\d.]+) +clicks_only_p10=([\d.]+)", out, re.M)
    assert [int(d[0]) for d in days] == list(range(1, bench.SMALL.days + 1))
    # Before the threshold (5 likes, 3 dislikes) the clicks-only arm shows exactly the keyword digest;
    # the reader with a library gets papers like it from the first day.
    assert days[0][1] == days[0][3]
    last = out.strip().splitlines()[-1]
    match = re.fullmatch(r"RESULT keywords_p10=([\d.]+) learned_p10=([\d.]+) clicks_only_p10=([\d.]+)", last)
    assert match, last
    keywords, learned, clicks_only = map(float, match.groups())
    assert 0.0 < keywords < 1.0
    assert learned > keywords and clicks_only >= keywords
