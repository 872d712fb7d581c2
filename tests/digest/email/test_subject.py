"""The subject line: count, top interests, under 78 characters."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from digest.email import (
    digest_subject_render,
    digest_text_render,
)
from tests.digest.email.email_samples import (
    ada_email,
    quiet_email,
)

pytestmark = pytest.mark.usefixtures("email_settings")


def test_weekly_digest_says_so():
    weekly = ada_email(frequency="weekly")
    assert digest_subject_render(weekly) == "This week: 4 new papers on diffusion, video generation"
    assert "4 papers from this week" in digest_text_render(weekly)


def test_subject_names_the_count_and_top_interests_in_under_78_characters():
    interests = ("graph neural networks", "protein structure prediction", "reinforcement learning", "diffusion")
    items = tuple(replace(item, interests=interests[: 1 + n % 4]) for n, item in enumerate(ada_email().items * 3))
    subject = digest_subject_render(ada_email(items=items, interests=interests))
    assert len(subject) < 78
    assert subject.startswith("12 new papers on graph neural networks")
    assert re.search(r"\+\d more$", subject)


def test_single_paper_subject_is_singular():
    one = ada_email(items=ada_email().items[:1])
    assert digest_subject_render(one) == "1 new paper on diffusion, video generation"


@pytest.mark.parametrize(
    ("count", "frequency", "subject"),
    [
        (3, "daily", "No new matches today — 3 near misses"),
        (1, "daily", "No new matches today — 1 near miss"),
        (0, "daily", "No new matches today"),
        (2, "weekly", "No new matches this week — 2 near misses"),
    ],
)
def test_quiet_day_subject_counts_the_near_misses(count, frequency, subject):
    note = quiet_email(items=quiet_email().items[:count] if count <= 3 else (), frequency=frequency)
    assert digest_subject_render(note) == subject
    assert len(subject) < 78 and not re.search(r"[\x00-\x1f\x7f]", subject)
