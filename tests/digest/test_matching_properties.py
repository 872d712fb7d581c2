"""Property tests: the parser only ever fails with QueryError; the index agrees with the naive matcher."""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

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

WORDS = [
    "graph",
    "graphs",
    "Graph's",
    "neural",
    "network",
    "networks",
    "fine",
    "tuning",
    "finetuning",
    "fine-tuning",
    "fine-tuned",
    "data",
    "set",
    "dataset",
    "datasets",
    "LLM",
    "LLMs",
    "model",
    "Models",
    "queries",
    "query",
    "café",
    "cafe",
    "x-ray",
    "xray",
    "diffusion",
    "video",
    "pre",
    "training",
    "pretraining",
    "ＬＬＭ",
    "a",
    "2024",
    # spelling variants and acronyms with their long forms (curated, or defined in the text: "(RL)")
    "optimisation",
    "optimization",
    "behaviour",
    "large",
    "language",
    "Large Language Models",
    "RL",
    "reinforcement",
    "learning",
    "MoE",
    "mixture",
    "of",
    "experts",
    "concept bottleneck",
    "CBM",
]
AUTHORS = ["Geoffrey Hinton", "Ada Lovelace", "José García", "Jose Garcia", "Hinton Geoffrey"]
CATEGORIES = ["cs.LG", "cs.CL", "stat.ML"]
SEPARATORS = [" ", " ", " ", "-", ", ", ". ", " (", ") ", "’s ", " (CBM) ", " (RL) "]

text = st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), max_size=14).map(
    lambda parts: "".join(w + s for w, s in parts)
)
papers = st.lists(
    st.builds(
        lambda title, abstract, authors, cats, pop: (title, abstract, tuple(authors), tuple(cats), pop),
        text,
        text,
        st.lists(st.sampled_from(AUTHORS), max_size=3),
        st.lists(st.sampled_from(CATEGORIES), max_size=2),
        st.one_of(st.none(), st.integers(0, 500)),
    ),
    min_size=1,
    max_size=8,
)


@st.composite
def atoms(draw) -> str:
    kind = draw(st.sampled_from(["word", "word", "phrase", "title", "author", "category", "exact"]))
    if kind == "word":
        atom = draw(st.sampled_from(WORDS))
    elif kind == "exact":
        atom = "=" + draw(st.sampled_from(WORDS))
    elif kind == "phrase":
        atom = '"' + " ".join(draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=3))) + '"'
    elif kind == "title":
        atom = "title:" + draw(st.sampled_from(WORDS))
    elif kind == "author":
        name = draw(st.sampled_from(["hinton", "garcia", "García", '"geoffrey hinton"', '"ada lovelace"']))
        atom = "author:" + name
    else:
        atom = "category:" + draw(st.sampled_from(["cs.lg", "CS.CL", "stat.ML", "cs"]))
    return ("-" if draw(st.booleans()) and draw(st.booleans()) else "") + atom


@st.composite
def queries(draw) -> str:
    groups = [" ".join(draw(st.lists(atoms(), min_size=1, max_size=3))) for _ in range(draw(st.integers(1, 3)))]
    query = " OR ".join(groups)
    if draw(st.booleans()) and draw(st.booleans()):
        query = f"({query}) {draw(atoms())}"
    return query


def valid(query: str) -> bool:
    try:
        parse_query(query)
    except QueryError:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_the_parser_only_ever_fails_with_query_error(query):
    try:
        parsed = parse_query(query)
    except QueryError as err:
        assert 0 <= err.position <= len(query)
        assert err.message and str(err)
    else:
        assert parsed.terms or parsed.joins


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab -\"():ORtiley“”é'=", max_size=40))
def test_the_parser_survives_query_syntax_soup(query):
    try:
        parse_query(query)
    except QueryError as err:
        assert 0 <= err.position <= len(query)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=120))
def test_validate_muted_only_ever_fails_with_query_error(word):
    try:
        cleaned = validate_muted(word)
    except QueryError:
        return
    assert cleaned == cleaned.strip() and cleaned


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(papers, st.lists(queries(), min_size=1, max_size=3), st.lists(st.sampled_from(WORDS), max_size=2))
def test_the_index_finds_exactly_what_the_naive_matcher_finds(rows, interests, muted):
    assume(all(valid(q) for q in interests))
    docs = [PaperDoc(key * 3 + 1, *row) for key, row in enumerate(rows)]
    profile = Profile(42, tuple(interests), tuple(muted), limit=1000)
    indexed = {m.paper_key for m in match_profile(PaperIndex.build(docs), profile)}
    assert indexed == naive_match(docs, profile)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(papers, st.lists(st.lists(queries(), min_size=1, max_size=3), min_size=1, max_size=5))
def test_the_batch_agrees_with_one_profile_at_a_time(rows, interest_lists):
    assume(all(valid(q) for qs in interest_lists for q in qs))
    docs = [PaperDoc(key, *row) for key, row in enumerate(rows)]
    index = PaperIndex.build(docs)
    profiles = [Profile(k, tuple(qs), limit=3) for k, qs in enumerate(interest_lists)]
    batch = match_profiles(index, profiles)
    for profile in profiles:
        single = match_profile(index, profile)
        assert batch.get(profile.key, []) == single
        everything = match_profile(index, Profile(profile.key, profile.interests, limit=1000))
        assert [(m.paper_key, m.score) for m in single] == [(m.paper_key, m.score) for m in everything[:3]]
        assert [m.score for m in single] == sorted((m.score for m in single), reverse=True)
        for m in single:
            title = docs[m.paper_key].title
            assert all(0 <= a < b <= len(title) for a, b in m.title_spans)
            assert all(0 <= a < b <= len(m.snippet) for a, b in m.snippet_spans)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(papers, st.lists(st.lists(queries(), min_size=1, max_size=3), min_size=2, max_size=5))
def test_explanations_shared_through_the_index_are_those_worked_out_alone(rows, interest_lists):
    """Explanations are kept on the index by (matching interests, paper) and reused by other profiles
    and later calls (the planner's shards): each must equal the one worked out on a fresh index."""
    assume(all(valid(q) for qs in interest_lists for q in qs))
    docs = [PaperDoc(key, *row) for key, row in enumerate(rows)]
    shared = PaperIndex.build(docs)
    profiles = [Profile(k, tuple(qs), limit=5) for k, qs in enumerate(interest_lists)]
    half = len(profiles) // 2
    first = match_profiles(shared, profiles[:half])
    later = match_profiles(shared, profiles[half:])  # a second call on the same index, as a next shard
    for profile in profiles:
        alone = match_profile(PaperIndex.build(docs), profile)
        got = (first if profile.key < half else later).get(profile.key, [])
        assert [(m.paper_key, m.score, m.reasons, m.title_spans, m.snippet, m.snippet_spans) for m in got] == [
            (m.paper_key, m.score, m.reasons, m.title_spans, m.snippet, m.snippet_spans) for m in alone
        ]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(papers, st.lists(st.lists(queries(), min_size=1, max_size=3), min_size=2, max_size=6))
def test_content_written_from_interest_parts_is_what_each_match_stores_alone(rows, interest_lists):
    """The planner's fast path (``ContentShared``: each entry's JSON written from its matched interests'
    parts, kept per interest and paper across calls on one index) stores what the reference stores for
    each subscriber: ``content_split`` of their matches, written by ``json.dumps``."""
    import json

    from digest.content import ContentShared
    from digest.feedback.personalise import content_split

    assume(all(valid(q) for qs in interest_lists for q in qs))
    docs = [PaperDoc(key, *row) for key, row in enumerate(rows)]
    shared_index = PaperIndex.build(docs)
    profiles = [Profile(k, tuple(qs), limit=5) for k, qs in enumerate(interest_lists)]
    half = len(profiles) // 2
    shared = ContentShared()
    for batch in (profiles[:half], profiles[half:], profiles):  # later calls reuse the first ones' entries
        for key, found in match_profiles(shared_index, batch).items():
            made = shared.content(found)
            assert made is not None
            reference = content_split(match_profile(PaperIndex.build(docs), profiles[key]))
            assert list(made[0]) == reference
            assert made[1] == json.dumps(reference)


# Abstracts long enough (up to ~1,000 characters) that the snippet window depends on which word anchors it.
long_papers = st.lists(
    st.tuples(
        text,
        st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), min_size=30, max_size=120).map(
            lambda parts: "".join(w + s for w, s in parts)
        ),
        st.just(()),
        st.just(()),
        st.none(),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(long_papers, st.lists(st.lists(queries(), min_size=1, max_size=4), min_size=2, max_size=6))
def test_content_joined_from_part_fragments_is_what_each_match_stores_alone_on_long_abstracts(rows, interest_lists):
    """As above, on abstracts long enough that the snippet window depends on which interest anchors it:
    an entry of several interests is joined from its parts' JSON fragments, the other interests' words
    inside the anchoring window merged in (``ContentShared._entry_json``)."""
    test_content_written_from_interest_parts_is_what_each_match_stores_alone.hypothesis.inner_test(rows, interest_lists)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(long_papers, st.lists(st.lists(queries(), min_size=1, max_size=4), min_size=1, max_size=4))
def test_explanations_composed_from_interest_parts_equal_the_reference_worked_out_whole(rows, interest_lists):
    """A match's interests are found for all winners at once (``matched_sets``) and its explanation is
    composed from per-interest parts (``Highlighter.compose``); the reference checks interest by
    interest (``Explainer.explain``) and highlights the union of their terms (``Highlighter.spans``)."""
    from digest.matching.explain import match_parts

    assume(all(valid(q) for qs in interest_lists for q in qs))
    docs = [PaperDoc(key, *row) for key, row in enumerate(rows)]
    index = PaperIndex.build(docs)
    profiles = [Profile(k, tuple(qs), limit=6) for k, qs in enumerate(interest_lists)]
    for found in match_profiles(index, profiles).values():
        for match in found:
            _, _, explainer, row, doc, _ = match._d  # the lazy match's own data: (…, row, paper, matched)
            reasons, terms = explainer.explain(row, doc)
            doc_of_parts, parts, highlighter = match_parts(match)
            assert doc_of_parts == doc
            assert tuple(part.reason for part in parts) == reasons
            assert highlighter.compose(doc, parts) == highlighter.spans(doc, terms)


def test_shared_content_keeps_each_parts_snippet_by_reference_not_as_a_copy():
    """A window keeps up to ``ALONE_KEPT`` interest parts for the whole slot: what it writes about a part
    refers to the part's own snippet window instead of holding a second, JSON-encoded copy (that copy
    was about 100 MiB of a planner's peak at a million subscribers)."""
    from digest.content import ContentShared

    abstract = " ".join(["Sparse attention for long documents."] * 30 + ["Retrieval augmented generation."] * 30)
    docs = [PaperDoc(key, f"Paper {key} on attention and retrieval", abstract) for key in range(3)]
    shared = ContentShared()
    index = PaperIndex.build(docs)
    for found in match_profiles(index, [Profile(1, ("attention", "retrieval"), limit=3)]).values():
        assert shared.content(found) is not None
    kept = shared._parts
    assert kept, "several interests matched: their entries are joined from kept parts"
    for part, text in kept.items():
        fields = [getattr(text, name) for name in text.__slots__]
        assert not any(isinstance(value, str) and part.window[2] in value for value in fields)
        assert any(value is part.window for value in fields)  # the part's own (start, end, text), not a copy


def test_a_long_lived_index_starts_its_term_occurrences_again_past_their_bound_and_explains_the_same(monkeypatch):
    """The planner's window lives for a whole slot: its highlighter's term occurrences and snippet
    windows (what new parts are made of) start again past ``INGREDIENTS_KEPT`` -- they were the cache
    that kept a planner's memory growing -- and what is explained after that is what a fresh index explains."""
    from digest.matching.explain import highlighter as module
    from digest.matching.explain.highlighter import highlighter_of

    monkeypatch.setattr(module, "INGREDIENTS_KEPT", 4)
    abstract = "Sparse attention for long documents, with retrieval and graph neural networks for video."
    docs = [PaperDoc(key, f"Paper {key} on attention, retrieval and graphs", abstract) for key in range(4)]
    index = PaperIndex.build(docs)
    highlighter = highlighter_of(index)
    calls = [("attention", "retrieval"), ("graph", "video"), ("neural networks", "documents")]
    for n, interests in enumerate(calls):
        profile = Profile(n, interests, limit=4)
        got = match_profiles(index, [profile])[n]  # each call bounds the highlighter first (its Explainer)
        alone = match_profile(PaperIndex.build(docs), profile)
        assert [(m.paper_key, m.reasons, m.title_spans, m.snippet, m.snippet_spans) for m in got] == [
            (m.paper_key, m.reasons, m.title_spans, m.snippet, m.snippet_spans) for m in alone
        ]
        kept = {term.text for _, term in highlighter.occurrences}
        assert len(highlighter.occurrences) >= 4, "the call found its terms in four papers"
        words = {*interests, *(word for interest in interests for word in interest.split())}
        assert kept <= words, f"call {n} still holds an earlier call's occurrences: {kept}"
