"""The planner's and the preview's one call: keyword matches merged with "papers like these".

Kept here, apart from the planner, so the hook in the planner is one line wherever planning lives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from digest.matching import Match, PaperDoc, PaperIndex, QueryError
from digest.matching.query import muted_term

from .combine import matches_combine, pool_size
from .records import Library, LibraryPaperDoc
from .selectors import libraries_for
from .similarity import LibraryIndex, libraries_match


def muted_paper_keys(index: PaperIndex, muted: Sequence[str]) -> set[int]:
    """The papers a subscriber's muted words drop (the engine's own muted-word matching), so that a
    paper like their library is dropped for the same words as a keyword match is."""
    keys: set[int] = set()
    for word in muted:
        try:
            term = muted_term(word)
        except QueryError:
            continue  # the engine skips (and logs) a muted word that is not valid, so do we
        keys.update(int(k) for k in index.keys[index.term_hits(term).docs])
    return keys


def digests_with_libraries(
    *,
    matches: Mapping[int, list[Match]],
    docs: Sequence[PaperDoc],
    subscription_ids: Sequence[int],
    exclude: Mapping[int, set[int]],
    limits: Mapping[int, int],
    paper_index: PaperIndex | None = None,
    muted: Mapping[int, Sequence[str]] | None = None,
) -> dict[int, list[Match]]:
    """Every subscriber's keyword ``matches`` (papers in ``exclude`` already removed), with the
    day's papers most like their library ranked in (each explained by the library paper it is
    like), cut to the fusion's pool (:func:`combine.pool_size` of ``limits``; the caller cuts to
    ``limits``). Subscribers without a library keep their keyword matches; one with a library and
    no keyword interest gets the library's papers alone. Papers of the library itself are never
    listed, nor papers with one of the subscriber's ``muted`` words (looked up in ``paper_index``,
    the engine's index of the same ``docs``)."""
    data = libraries_for(subscription_ids=list(subscription_ids))
    out = dict(matches)
    if not data.keys or not docs:
        return out
    index = LibraryIndex.build(docs)
    muted = muted or {}
    if paper_index is None and any(muted.get(sub_id) for sub_id in data.keys):
        paper_index = PaperIndex.build(docs)
    libraries = [
        Library(
            key=sub_id,
            papers=keys,
            limit=pool_size(limits[sub_id]),  # the fusion's pool; cut to the digest's length below
            # Only what the digest can show is explained: its length, and the keyword matches.
            shown=limits[sub_id],
            explain_also=frozenset(m.paper_key for m in matches.get(sub_id, [])[: pool_size(limits[sub_id])]),
            exclude=frozenset(
                data.own.get(sub_id, set())
                | set(exclude.get(sub_id, ()))
                | (muted_paper_keys(paper_index, muted[sub_id]) if paper_index and muted.get(sub_id) else set())
            ),
        )
        for sub_id, keys in data.keys.items()
        if sub_id in limits
    ]
    found = libraries_match(index, data.papers, libraries)
    for library in libraries:
        own = library.exclude
        limit = limits[library.key]
        keyword = [m for m in matches.get(library.key, []) if m.paper_key not in own][: pool_size(limit)]
        # The whole fused pool: the caller cuts it to the limit (after re-ranking by a learned model).
        combined = matches_combine(
            keyword=keyword,
            like=found.get(library.key, []),
            limit=pool_size(limit),
            abstract_of=index.abstracts,
        )
        if combined:
            out[library.key] = combined
        else:
            out.pop(library.key, None)
    return out


def digest_with_library(
    *,
    matches: Sequence[Match],
    index: LibraryIndex,
    library: Sequence[LibraryPaperDoc],
    own: frozenset[int],
    limit: int,
    pool: int | None = None,
) -> list[Match]:
    """One subscriber's digest (the live preview): keyword matches and library matches together.
    ``matches`` should reach :func:`combine.pool_size` deep; ``pool`` (default: that of ``limit``) is
    how deep each list is fused, so a longer ``limit`` with the same ``pool`` lists the same papers first."""
    if not library:
        return list(matches[:limit])
    pool = pool or pool_size(limit)
    like = libraries_match(
        index, library, [Library(key=0, papers=tuple(d.key for d in library), limit=pool, exclude=own)]
    ).get(0, [])
    keyword = [m for m in matches if m.paper_key not in own][:pool]
    return matches_combine(keyword=keyword, like=like, limit=limit, abstract_of=index.abstracts)
