"""Debian's SpamAssassin as a judge of our emails: ``spamassassin -t -L`` (local tests only, no
network), with a private home and preferences so nothing is learned or written between runs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

SPAMASSASSIN = "spamassassin"
_RULE_LINE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s+([A-Z0-9_]+)\s", re.MULTILINE)


@dataclass(frozen=True)
class Verdict:
    score: float
    rules: dict[str, float]  # rule name -> points
    report: str


def spamassassin_available() -> str | None:
    if shutil.which(SPAMASSASSIN) is None:
        return "SpamAssassin is not installed (apt-get install -y spamassassin)"
    return None


def spamassassin_check(message: bytes) -> Verdict:
    """Score one message; the rules it hit, with their points, from SpamAssassin's own report."""
    with tempfile.TemporaryDirectory(prefix="sa-") as home:
        prefs = os.path.join(home, "user_prefs")
        with open(prefs, "w") as handle:
            handle.write("use_bayes 0\nbayes_auto_learn 0\n")
        done = subprocess.run(
            # No DNS at all: -L skips network tests, and without "dns_available no" start-up waits for a
            # resolver that does not answer here.
            [SPAMASSASSIN, "-t", "-L", "--prefspath", prefs, "--cf=dns_available no"],
            input=message,
            capture_output=True,
            timeout=120,
            check=False,
            env={**os.environ, "HOME": home},
        )
    report = done.stdout.decode("utf-8", "replace")
    if "Content analysis details" not in report:
        raise RuntimeError(f"spamassassin gave no report (exit {done.returncode}): {done.stderr.decode()[-2000:]}")
    details = report.split("Content analysis details", 1)[1]
    score = float(re.search(r"\((-?\d+(?:\.\d+)?) points", details).group(1))
    rules = {name: float(points) for points, name in _RULE_LINE.findall(details)}
    return Verdict(score=score, rules=rules, report=details)
