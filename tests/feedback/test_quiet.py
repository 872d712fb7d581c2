"""Quiet days: the nearest misses and the interest that almost matched them."""

from __future__ import annotations

from digest.feedback.quiet import (
    interest_relaxations,
    query_clauses,
    quiet_day_note,
    quiet_note_content,
    quiet_notes_for,
)
from digest.matching import PaperDoc, PaperIndex, Profile

DAY = [
    PaperDoc(key=1, title="Diffusion models for image synthesis", abstract="We denoise images with diffusion."),
    PaperDoc(key=2, title="Robot arms that grasp", abstract="A robot grasps objects."),
    PaperDoc(key=3, title="Autoregressive video generation", abstract="Tokens for video generation."),
    PaperDoc(key=4, title="Protein folding", abstract="Nothing about the interests at all."),
]


def test_top_level_clauses_keep_phrases_groups_fields_and_exclusions_whole():
    assert query_clauses('diffusion "video generation" -survey OR (robot arm) author:"Jan M"') == [
        ["diffusion", '"video generation"', "-survey"],
        ["(robot arm)", 'author:"Jan M"'],
    ]


def test_each_positive_clause_is_left_out_once_and_exclusions_stay():
    assert interest_relaxations('diffusion "video generation" -survey') == [
        ('"video generation" -survey', "diffusion"),
        ("diffusion -survey", '"video generation"'),
    ]
    assert interest_relaxations("diffusion") == []  # a one-word interest has no "all but one"


def test_near_misses_name_the_interest_and_the_missing_words():
    note = quiet_day_note(interests=['diffusion "video generation"', "robot"], docs=DAY)
    assert not note.empty
    misses = {m.paper_key: (m.interest, m.missing) for m in note.near_misses}
    assert misses == {
        1: ('diffusion "video generation"', '"video generation"'),
        3: ('diffusion "video generation"', "diffusion"),
    }
    assert 2 not in misses  # it matches "robot" outright: not a miss
    assert 4 not in misses


def test_near_misses_respect_muted_words_and_papers_already_sent():
    note = quiet_day_note(interests=['diffusion "video generation"'], docs=DAY, muted=["denoise"], exclude={3})
    assert note.near_misses == ()


def test_nothing_to_say_on_an_empty_day():
    assert quiet_day_note(interests=["diffusion video"], docs=[]).empty


def test_the_note_is_stored_in_the_digest_content_shape_with_what_was_missing():
    note = quiet_day_note(interests=['diffusion "video generation"'], docs=DAY)
    content = quiet_note_content(note)
    assert {(c["paper"], c["missing"], c["near_miss"]) for c in content} == {
        (1, '"video generation"', True),
        (3, "diffusion", True),
    }
    assert all(c["reasons"][0]["interest"] == 'diffusion "video generation"' for c in content)


def test_the_planner_gets_notes_only_for_subscribers_with_a_near_miss():
    profiles = [Profile(key=1, interests=('diffusion "video generation"',)), Profile(key=2, interests=("protein",))]
    notes = quiet_notes_for(profiles=profiles, index=PaperIndex.build(DAY), exclude={1: {3}})
    assert list(notes) == [1]
    assert [entry["paper"] for entry in notes[1]] == [1]
