"""Author names: accents, initials, "Last, First" and "First Last" are the same person on request."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from digest.authors import author_bucket_key, author_parse, author_query, authors_match, name_fold
from digest.matching import PaperDoc, PaperIndex, Profile, match_profile, parse_query


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
    assert author_bucket_key("Müller, J.") == author_bucket_key("Jan Muller") == "muller j"
    assert author_parse("van Beethoven, Ludwig") == author_parse("Ludwig van Beethoven")


def test_the_one_name_fold_spells_out_letters_unicode_does_not_decompose():
    # One fold for people's names everywhere (buckets, matching of author names, storing's surname_key):
    # a reader without an "Ø" key types "Orsted", and feeds transliterate it the same way.
    assert name_fold("Ørsted") == name_fold("Orsted") == "orsted"
    assert name_fold("Strauß") == "strauss"
    assert author_bucket_key("Ørsted, H. C.") == author_bucket_key("Hans Orsted") == "orsted h"
    assert authors_match("H. Orsted", "Hans Christian Ørsted")


def test_follow_query_spells_out_both_orders_and_initials_only_on_request():
    assert author_query("Müller, Jan") == 'author:"Jan Müller" OR author:"Müller, Jan"'
    assert author_query("Jan Müller", initials=True) == (
        'author:"Jan Müller" OR author:"Müller, Jan" OR author:"J. Müller" OR author:"Müller, J."'
    )
    assert author_query('Ada "the" Lovelace') == 'author:"Ada the Lovelace" OR author:"Lovelace, Ada the"'
    assert author_query("Müller") == 'author:"Müller"'
    parse_query(author_query("Jean-Pierre van der Berg", initials=True))


def test_the_engine_finds_the_followed_author_however_the_feed_wrote_the_name():
    names = ["Müller, J.", "Jan Muller", "J. Müller", "Jonas Müller", "Müller, Jan", "K. Müller"]
    index = PaperIndex.build([PaperDoc(key=i, title="t", abstract="a", authors=(n,)) for i, n in enumerate(names)])

    def found(query: str) -> list[str]:
        return sorted(names[m.paper_key] for m in match_profile(index, Profile(key=0, interests=(query,))))

    assert found(author_query("Jan Müller")) == ["Jan Muller", "Müller, Jan"]
    assert found(author_query("Jan Müller", initials=True)) == ["J. Müller", "Jan Muller", "Müller, J.", "Müller, Jan"]


# "Jr", "Sr", "Ii", "Iii", "Iv" are read as generational suffixes wherever they stand ("John Smith Jr"),
# so as a given or family name they are not the name itself: left out of this property (Hypothesis
# found "Jr Aa" once; the "Smith, Jr., John" case above shows how suffixes are handled).
_NAME = (
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzäöüéèçñø", min_size=2, max_size=10)
    .map(str.capitalize)
    .filter(lambda name: name.lower() not in {"jr", "sr", "ii", "iii", "iv"})
)


@given(given=_NAME, family=_NAME)
def test_any_name_matches_itself_in_both_orders_and_as_initials(given, family):
    assert author_bucket_key(f"{given} {family}") == author_bucket_key(f"{family}, {given}")
    assert authors_match(f"{given} {family}", f"{family}, {given}", initials=False)
    assert authors_match(f"{given} {family}", f"{given[0]}. {family}")
    assert not authors_match(f"{given} {family}", f"{given[0]}. {family}", initials=False)
