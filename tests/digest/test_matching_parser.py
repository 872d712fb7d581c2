"""The query language: every rule of issue 3, each with the case that must not match."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from digest.authors import name_fold
from digest.matching import (
    PaperDoc,
    PaperIndex,
    Profile,
    QueryError,
    match_profile,
    match_profiles,
    naive_match,
    parse_query,
    validate_muted,
)
from digest.matching.normalize import TOKEN_RE, fold, name_tokens


def paper(key: int, title: str, abstract: str = "", authors=(), categories=()) -> PaperDoc:
    return PaperDoc(key, title, abstract, tuple(authors), tuple(categories))


def found(query: str, *docs: PaperDoc, muted: tuple[str, ...] = ()) -> set[int]:
    """Keys the engine matches; also checks the naive reference matcher agrees."""
    profile = Profile(1, (query,), muted, limit=1000)
    indexed = {m.paper_key for m in match_profile(PaperIndex.build(docs), profile)}
    assert indexed == naive_match(docs, profile)
    return indexed


# --- words, phrases, OR, exclusions ----------------------------------------------------------


def test_bare_words_need_every_word():
    both = paper(1, "Video diffusion", "We generate clips.")
    one = paper(2, "Image diffusion", "We generate pictures.")
    spread = paper(3, "Diffusion for robots", "Trained on video.")
    assert found("diffusion video", both, one, spread) == {1, 3}


def test_quoted_phrase_needs_words_adjacent_and_in_order():
    adjacent = paper(1, "Fast video diffusion")
    reversed_ = paper(2, "Diffusion video tricks")
    apart = paper(3, "Video models with diffusion")
    assert found('"video diffusion"', adjacent, reversed_, apart) == {1}


def test_or_between_alternatives():
    a = paper(1, "Grokking in transformers")
    b = paper(2, "On delayed generalization")
    c = paper(3, "Delayed feedback and generalization")
    assert found('grokking OR "delayed generalization"', a, b, c) == {1, 2}


def test_lower_case_or_is_an_ordinary_word():
    assert found("grokking or memorization", paper(1, "Grokking"), paper(2, "grokking or memorization")) == {2}


def test_or_binds_looser_than_and():
    assert found("a1 b1 OR c1", paper(1, "a1 b1"), paper(2, "c1"), paper(3, "a1 c9")) == {1, 2}


def test_minus_word_excludes():
    plain = paper(1, "Diffusion for weather")
    medical = paper(2, "Diffusion for medical imaging")
    assert found("diffusion -medical", plain, medical) == {1}


def test_minus_phrase_excludes_only_the_phrase():
    phrase = paper(1, "Diffusion for medical imaging")
    words = paper(2, "Diffusion imaging, not medical")
    assert found('diffusion -"medical imaging"', phrase, words) == {2}


def test_parentheses_group_alternatives():
    docs = (paper(1, "video diffusion"), paper(2, "video flow"), paper(3, "image flow"))
    assert found("(diffusion OR flow) video", *docs) == {1, 2}


# --- fields ----------------------------------------------------------------------------------


def test_title_field_looks_only_at_the_title():
    in_title = paper(1, "Graph neural networks at scale", "Nothing.")
    in_abstract = paper(2, "Scaling study", "We train graph neural networks.")
    assert found("title:graph", in_title, in_abstract) == {1}
    assert found('title:"graph neural"', in_title, in_abstract) == {1}


def test_author_field_matches_a_name_token_or_phrase_within_one_author():
    hinton = paper(1, "Capsules", authors=["Geoffrey Hinton", "Sara Sabour"])
    split = paper(2, "Other", authors=["Geoffrey Smith", "Ada Hinton"])
    nobody = paper(3, "Hinton's method revisited", "Following Hinton.")
    assert found("author:hinton", hinton, split, nobody) == {1, 2}
    assert found('author:"geoffrey hinton"', hinton, split, nobody) == {1}


def test_author_field_folds_accents_both_ways():
    accented = paper(1, "Kernels", authors=["Bernhard Schölkopf"])
    plain = paper(2, "Kernels too", authors=["Bernhard Scholkopf"])
    assert found("author:scholkopf", accented, plain) == {1, 2}
    assert found("author:Schölkopf", accented, plain) == {1, 2}


def test_author_field_folds_names_with_the_one_person_name_fold():
    # digest.authors.name_fold wins for names: letters Unicode does not decompose are spelled out,
    # because readers and transliterating feeds write "Orsted" for "Ørsted" (and "Lukasz" for "Łukasz").
    danish = paper(1, "Electromagnetism", authors=["Hans Christian Ørsted"])
    plain = paper(2, "Electromagnetism again", authors=["H. C. Orsted"])
    polish = paper(3, "Transformers", authors=["Łukasz Kaiser"])
    assert found("author:orsted", danish, plain, polish) == {1, 2}
    assert found('author:"hans christian ørsted"', danish, plain, polish) == {1}
    assert found("author:lukasz", danish, plain, polish) == {3}


@given(st.text(max_size=40))
def test_name_tokens_ascii_shortcut_gives_what_both_folds_give(name):
    assert name_tokens(name) == TOKEN_RE.findall(fold(name_fold(name)))


def test_category_matches_exactly_and_ignores_case():
    lg = paper(1, "A", categories=["cs.LG", "stat.ML"])
    cl = paper(2, "B", categories=["cs.CL"])
    assert found("category:cs.lg", lg, cl) == {1}
    assert found("category:CS.LG", lg, cl) == {1}
    assert found("category:cs", lg, cl) == set()


def test_default_field_does_not_search_authors_or_categories():
    doc = paper(1, "Capsules", "Routing.", authors=["Geoffrey Hinton"], categories=["cs.LG"])
    assert found("hinton", doc) == set()


# --- normalisation ---------------------------------------------------------------------------


def test_matching_ignores_case():
    assert found("LLM", paper(1, "llm agents"), paper(2, "LlM tools")) == {1, 2}


def test_transformer_never_matches_transformation():
    assert found("transformer", paper(1, "A transformation of data"), paper(2, "Transformers rule")) == {2}


def test_whole_words_only():
    assert found("art", paper(1, "State of the art"), paper(2, "Smart artistic partition")) == {1}


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("model", "Models"),
        ("models", "model"),
        ("model", "the model's output"),
        ("LLM", "LLMs"),
        ("LLMs", "an LLM"),
        ("query", "queries"),
        ("queries", "query"),
        ("GPU", "GPUs"),
        ("bias", "biases"),
        ("KV cache", "KV caches"),
        ("approach", "approaches"),
    ],
)
def test_singular_plural_and_possessive_are_alike(query, text):
    assert found(query, paper(1, text)) == {1}


@pytest.mark.parametrize("query", ["fine-tuning", "fine tuning", '"fine tuning"', "finetuning", "FineTuning"])
@pytest.mark.parametrize("text", ["Fine-tuning LLMs", "fine tuning LLMs", "Finetuning LLMs"])
def test_hyphen_space_and_joined_forms_are_alike(query, text):
    assert found(query, paper(1, text)) == {1}


def test_joined_and_split_forms_still_need_the_whole_word():
    assert found("finetuning", paper(1, "fine grained tuning"), paper(2, "fine-tuningx")) == set()


def test_dataset_matches_data_set():
    assert found("datasets", paper(1, "A new data set"), paper(2, "Data and a set")) == {1}


def test_unicode_is_normalised():
    fullwidth = paper(1, "ＬＬＭ agents")
    ligature = paper(2, "The ﬁnal layer")
    assert found("llm", fullwidth, ligature) == {1}
    assert found("final", fullwidth, ligature) == {2}


def test_curly_quotes_in_a_query_act_as_straight_quotes():
    adjacent = paper(1, "Video diffusion")
    apart = paper(2, "Diffusion of video")
    assert found("“video diffusion”", adjacent, apart) == {1}


# --- muted words -----------------------------------------------------------------------------


def test_muted_word_drops_a_paper_whatever_else_matched():
    plain = paper(1, "Diffusion for weather")
    muted = paper(2, "Diffusion for medical imaging")
    assert found("diffusion", plain, muted, muted=("Medical",)) == {1}


def test_muted_phrase_needs_the_whole_phrase():
    phrase = paper(1, "Diffusion for medical imaging")
    words = paper(2, "Diffusion imaging for medical use")
    assert found("diffusion", phrase, words, muted=('"medical imaging"',)) == {2}


def test_validate_muted_trims_and_unquotes():
    assert validate_muted("  “medical   imaging”  ") == "medical imaging"
    assert validate_muted("crypto") == "crypto"


@pytest.mark.parametrize("word", ["", "   ", '""', "---", "x" * 101])
def test_validate_muted_rejects_empty_or_oversized_words(word):
    with pytest.raises(QueryError):
        validate_muted(word)


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "fragment", "position"),
    [
        ('diffusion "video', "Unbalanced quote", 10),
        ("diffusion - video", "lone '-'", 10),
        ("diffusion -", "lone '-'", 10),
        ("venue:neurips", "Unknown field 'venue:'", 0),
        ("graph journal:nature", "Unknown field 'journal:'", 6),
        ("", "empty", 0),
        ("   ", "empty", 0),
        ("OR diffusion", "OR needs something on its left", 0),
        ("diffusion OR", "OR needs something on its right", 10),
        ("a OR OR b", "OR needs something on its right", 2),
        ("-medical", "only excludes", 0),
        ("(diffusion video", "Unbalanced parenthesis", 0),
        ("diffusion)", "Unbalanced parenthesis", 9),
        ('title:""', "Empty quotes", 6),
        ("title: graph", "needs a word", 0),
        ("--medical diffusion", "Double '-'", 0),
        ("category:", "needs a word", 0),
    ],
)
def test_bad_queries_are_rejected_with_what_and_where(query, fragment, position):
    with pytest.raises(QueryError) as caught:
        parse_query(query)
    err = caught.value
    assert fragment.lower() in err.message.lower()
    assert err.position == position
    assert err.query == query
    assert str(err).startswith(f"{err.message} at position {position}: ")


def test_error_message_quotes_the_query_as_typed():
    with pytest.raises(QueryError) as caught:
        parse_query('diffusion "video')
    assert str(caught.value) == 'Unbalanced quote at position 10: "diffusion \\"video"'


def test_too_long_query_is_rejected():
    with pytest.raises(QueryError, match="too long"):
        parse_query("word " * 101)


def test_a_query_error_is_a_value_error():
    with pytest.raises(ValueError):
        parse_query('"')


def test_stray_punctuation_between_words_is_ignored():
    assert found("diffusion & video", paper(1, "video diffusion"), paper(2, "diffusion")) == {1}


def test_parsed_query_keeps_the_words_as_written():
    query = parse_query('LLMs title:"Graph Neural" -medical')
    assert [t.text for t in query.terms] == ["LLMs", "Graph Neural"]
    assert str(query) == 'LLMs title:"Graph Neural" -medical'


def test_the_batch_skips_an_unparseable_interest_but_the_preview_rejects_it():
    index = PaperIndex.build([paper(1, "Video diffusion")])
    profile = Profile(7, ('diffusion "video', "diffusion"), limit=5)
    assert [m.paper_key for m in match_profiles(index, [profile])[7]] == [1]
    with pytest.raises(QueryError):
        match_profile(index, profile)
