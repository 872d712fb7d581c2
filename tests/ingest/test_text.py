"""Text hygiene: ids, title keys, HTML → plain text, whitespace, charsets."""

from __future__ import annotations

import pytest

from digest.authors import name_fold
from digest.ingest.parsing import datetime_parse
from digest.ingest.text import (
    arxiv_id_parse,
    authors_split,
    body_decode,
    doi_clean,
    html_to_text,
    summary_to_text,
    surname_key,
    text_clean,
    title_key,
    url_clean,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2401.01234v2", ("2401.01234", 2)),
        ("2401.01234", ("2401.01234", None)),
        ("0704.0001", ("0704.0001", None)),
        ("arXiv:2401.01234v11", ("2401.01234", 11)),
        ("http://arxiv.org/abs/2401.01234v2", ("2401.01234", 2)),
        ("https://arxiv.org/pdf/2401.01234v3.pdf", ("2401.01234", 3)),
        ("oai:arXiv.org:2508.13426v1", ("2508.13426", 1)),
        ("hep-th/9901001", ("hep-th/9901001", None)),
        ("http://arxiv.org/abs/hep-ex/0307015v1", ("hep-ex/0307015", 1)),
        ("math.GT/0309136", ("math.GT/0309136", None)),
    ],
)
def test_arxiv_ids_are_normalised_and_the_version_is_kept_apart(raw, expected):
    assert arxiv_id_parse(raw) == expected


@pytest.mark.parametrize("raw", ["", "10.1000/xyz", "2401.1", "https://example.org/abs/2401.01234", "hello world"])
def test_things_that_are_not_arxiv_ids_are_not_taken_for_one(raw):
    assert arxiv_id_parse(raw) is None


def test_title_key_folds_case_whitespace_punctuation_accents_and_latex_markup():
    assert title_key("  Attention Is\n  All You Need!  ") == title_key("attention is all you need")
    assert title_key(r"\textbf{Deep} Schrödinger Nets: a $\mathcal{O}(n)$ study") == title_key(
        "Deep Schrodinger nets - a O(n) study"
    )


def test_title_key_keeps_different_titles_apart():
    assert title_key("Graph Neural Networks for Molecules") != title_key("Graph Neural Networks for Materials")


def test_html_summaries_become_plain_text_without_scripts_tags_or_entities():
    html = '<p>We <b>route</b> tokens &amp; experts.</p><script>alert("x")</script><p>Cost is $O(n)$&nbsp;here.</p>'
    assert html_to_text(html) == "We route tokens & experts. Cost is $O(n)$ here."


def test_plain_text_keeps_latex_and_unicode_and_loses_hard_line_breaks():
    raw = "We bound $\\|x\\|_2 \\le \\epsilon$\n  for all\tζ-functions —\r\n  tightly."
    assert text_clean(raw) == "We bound $\\|x\\|_2 \\le \\epsilon$ for all ζ-functions — tightly."


def test_plain_text_summary_with_a_less_than_sign_is_not_mistaken_for_html():
    assert summary_to_text("We show a<b and c>d hold.", content_type="text/plain") == "We show a<b and c>d hold."


def test_control_characters_are_removed():
    assert text_clean("A\x00B\x1bC") == "A B C"


@pytest.mark.parametrize("mark", list("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u200e\u200f\ufeff"))
def test_bidi_overrides_and_zero_width_marks_are_dropped(mark):
    assert text_clean(f"Safe {mark}evil{mark} title") == "Safe evil title"


def test_long_text_is_cut_on_a_word_and_says_so():
    cut = text_clean("word " * 100, limit=50)
    assert len(cut) <= 50
    assert cut.endswith("…")


@pytest.mark.parametrize(
    "raw", ["javascript:alert(1)", "data:text/html,<b>x</b>", "file:///etc/passwd", "//evil.example/x", "not a url"]
)
def test_only_http_urls_survive(raw):
    assert url_clean(raw) == ""


def test_http_urls_survive():
    assert url_clean(" https://arxiv.org/abs/2401.01234 ") == "https://arxiv.org/abs/2401.01234"


def test_surname_key_is_the_folded_surname_however_it_is_written():
    assert surname_key("Zesen Cheng") == surname_key("Cheng, Zesen") == surname_key("Z. Cheng") == "cheng"
    assert surname_key("Émilie du Châtelet") == "chatelet"


def test_surname_key_folds_a_name_like_every_persons_name_so_orsted_and_oersted_spellings_meet():
    # The person-name fold (digest.authors.name_fold) wins over the title fold: feeds transliterate
    # letters Unicode cannot decompose (arXiv writes "Orsted"), so "Ø" must become "o" to be one person.
    assert surname_key("Hans Christian Ørsted") == surname_key("Orsted, H. C.") == "orsted"
    assert surname_key("Jan Łukasiewicz") == surname_key("J. Lukasiewicz") == "lukasiewicz"
    assert surname_key("Ørsted, H.") == name_fold("Ørsted")


def test_a_comma_separated_creator_string_becomes_a_list_of_names():
    assert authors_split("Chunhua Liu, Kabir Manandhar Shrestha and Sukai Huang") == [
        "Chunhua Liu",
        "Kabir Manandhar Shrestha",
        "Sukai Huang",
    ]


def test_dois_are_recognised_in_their_usual_spellings():
    assert doi_clean("https://doi.org/10.5555/ABC.42") == doi_clean("doi:10.5555/abc.42") == "10.5555/abc.42"
    assert doi_clean("not-a-doi") == ""


def test_utf8_is_trusted_over_a_wrong_charset_header():
    assert body_decode("Schrödinger".encode(), declared_charset="iso-8859-1") == "Schrödinger"


def test_a_latin1_body_without_a_charset_is_still_read():
    assert body_decode("Schrödinger".encode("latin-1")) == "Schrödinger"


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("2026-11-24T17:59:30.000Z", "2026-11-24T17:59:30+00:00"),
        ("2003-07-07T13:46:39-04:00", "2003-07-07T17:46:39+00:00"),
        ("Tue, 24 Nov 2026 09:30:00 +0100", "2026-11-24T08:30:00+00:00"),
        ("2026-11-23", "2026-11-23T00:00:00+00:00"),
        ("24 November 2026", "2026-11-24T00:00:00+00:00"),
    ],
)
def test_dates_in_the_usual_formats_are_read_as_utc(raw, iso):
    assert datetime_parse(raw).isoformat() == iso


@pytest.mark.parametrize("raw", ["", None, "the day before yesterday", "2026-13-45", "0000-00-00"])
def test_odd_or_missing_dates_are_unknown_rather_than_an_error(raw):
    assert datetime_parse(raw) is None


# --- Properties -----------------------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_clean_text_is_one_line_without_runs_of_spaces_and_cleaning_twice_changes_nothing(raw):
    once = text_clean(raw)
    assert "\n" not in once and "\r" not in once and "\t" not in once
    assert "  " not in once
    assert text_clean(once) == once


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_title_keys_are_stable_under_renormalisation(raw):
    key = title_key(raw)
    assert title_key(key) == key
    assert key == key.strip() and len(key) <= 255


@settings(max_examples=200, deadline=None)
@given(
    st.from_regex(r"\A\d{4}\.\d{4,5}\Z") | st.from_regex(r"\A(hep-th|math|cond-mat|astro-ph)/\d{7}\Z"),
    st.integers(min_value=1, max_value=99),
)
def test_any_arxiv_id_with_any_version_round_trips(ident, version):
    assert arxiv_id_parse(f"{ident}v{version}") == (ident, version)
    assert arxiv_id_parse(f"https://arxiv.org/abs/{ident}v{version}") == (ident, version)
    assert arxiv_id_parse(ident) == (ident, None)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("/&;#\"' abcdegilmoprst=x")), max_size=80))
def test_a_script_in_html_never_survives_whatever_text_surrounds_it(fragment):
    # Entities in the text may decode to "<script>" as plain text (escaped again when rendered);
    # what matters is that the script element and its content are gone.
    assert "alert(1)" not in html_to_text(f"<p>{fragment}<script>alert(1)</script>{fragment}</p>")
