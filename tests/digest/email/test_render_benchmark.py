"""The render benchmark runs and prints its result line."""

from __future__ import annotations

import io
import re
from contextlib import redirect_stdout

import pytest

pytestmark = pytest.mark.usefixtures("email_settings")


def test_render_benchmark_runs_and_prints_its_result_line():
    from benchmarks import render

    out = io.StringIO()
    with redirect_stdout(out):
        render.main(
            ["--subscribers", "20", "--papers", "3", "--pool", "4", "--seconds", "0.02", "--premailer-emails", "1"]
        )
    last = out.getvalue().strip().splitlines()[-1]
    match = re.fullmatch(r"RESULT emails_per_s=([0-9.]+) premailer_each_per_s=([0-9.]+)", last)
    assert match and float(match[1]) > 0 and float(match[2]) > 0
