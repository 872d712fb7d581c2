"""Author names: accents, initials, "Last, First" and "First Last" are the same person on request."""

from __future__ import annotations

import pytest

from digest.authors import author_key, author_parse, author_query, authors_match


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("Müller, J.", "Jan Muller"),
        ("Jan Muller", "Müller, J."),
        ("Jan Müller", "J. Müller"),
        ("J. P. Müller", "Jan Peter Muller"),
        ("JP Müller", "Jean-Pierre Müller"),
        ("Bernhard Schölkopf", "Schoelkopf".replace("oe", "ö") + ", B."),
        ("Ludwig van Beethoven", "van Beethoven, L."),
        ("Müller", "Jonas Müller"),
        ("John Smith", "Smith, Jr., John"),
        ("Anders Ørsted", "A. Orsted"),
    ],
)
def test_the_same_author_written_differently_matches(query, name):
    assert authors_match(query, name)


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("Jan Müller", "Jonas Müller"),  # two different full given names
        ("Jan Müller", "K. Müller"),  # a different initial
        ("Jan Müller", "Jan Miller"),  # a different family name
        ("Jan Müller", "Jan Mueller"),  # a transliteration is another spelling, not folded
        ("Ludwig van Beethoven", "Ludwig Beethoven"),
    ],
)
def test_different_authors_do_not_match(query, name):
    assert not authors_match(query, name)


def test_without_initials_only_full_given_names_match():
    assert authors_match("Jan Müller", "Jan Muller", initials=False)
    assert not authors_match("Jan Müller", "J. Müller", initials=False)
    assert not authors_match("Jan Müller", "Müller", initials=False)
    assert authors_match("Müller", "J. Müller", initials=False)


def test_both_orders_give_the_same_key():
    assert author_key("Müller, J.") == author_key("Jan Muller") == "muller j"
    assert author_parse("van Beethoven, Ludwig") == author_parse("Ludwig van Beethoven")


def test_follow_query_is_an_author_interest_without_stray_quotes():
    assert author_query('  Jan "The Man"  Müller ') == 'author:"Jan The Man Müller"'
