"""The example queries on the interests page each find papers in the demo's sample (no "0 papers" first click)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from digest.forms import EXAMPLE_QUERIES
from digest.management.commands.demo import DEMO_PAPERS


@pytest.mark.parametrize("query", EXAMPLE_QUERIES)
def test_every_example_query_matches_a_paper_of_the_demo_sample(query):
    out = StringIO()
    call_command("preview_query", query, jsonl=str(DEMO_PAPERS), limit=1, stdout=out, stderr=StringIO())
    count = int(out.getvalue().split()[0])
    assert count >= 1, out.getvalue()
