"""The quiet-day note: on a day nothing matched, the papers that came closest and what they lacked.

"Closest" means: the paper matches an interest with exactly one of its top-level words or phrases
left out. ``diffusion "video generation"`` has two; a paper about diffusion for images matches
``"video generation"`` dropped, so the note says *almost matched "diffusion "video generation"",
missing "video generation"*.

Pure, and built on the matching engine's public API only (``parse_query``, ``PaperIndex``,
``match_profile``): each interest is relaxed one clause at a time and matched again, so the note
always agrees with what the engine would match.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from digest.content import ContentEntry, content_near_miss_entry
from digest.matching import PaperDoc, PaperIndex, Profile, QueryError, match_profile, parse_query

NEAR_MISSES_MAX = 3


@dataclass(frozen=True, slots=True)
class NearMiss:
    paper_key: int
    interest: str  # the interest as the subscriber wrote it
    missing: str  # the clause the paper lacks, as written in the interest
    score: float
    matched_terms: tuple[str, ...]  # what the paper does have


@dataclass(frozen=True, slots=True)
class QuietNote:
    near_misses: tuple[NearMiss, ...]

    @property
    def empty(self) -> bool:
        return not self.near_misses


def query_clauses(query: str) -> list[list[str]]:
    """The top level of a query: its OR branches, each a list of clauses (words, phrases, groups,
    ``field:`` items, ``-`` exclusions), as written. Quotes and parentheses are kept intact."""
    branches: list[list[str]] = [[]]
    current = ""
    depth = 0
    quoted = False

    def flush() -> None:
        nonlocal current
        if current == "OR" and depth == 0:
            branches.append([])
        elif current:
            branches[-1].append(current)
        current = ""

    for ch in query.replace("“", '"').replace("”", '"'):
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth = max(depth - 1, 0)
        if ch.isspace() and not quoted and depth == 0:
            flush()
            continue
        current += ch
    flush()
    return [b for b in branches if b]


def interest_relaxations(query: str) -> list[tuple[str, str]]:
    """``(relaxed query, missing clause)`` for each positive clause of each branch that has two or more."""
    relaxed: list[tuple[str, str]] = []
    for branch in query_clauses(query):
        positive = [i for i, clause in enumerate(branch) if not clause.startswith("-")]
        if len(positive) < 2:
            continue
        for i in positive:
            rest = " ".join(clause for j, clause in enumerate(branch) if j != i)
            try:
                parse_query(rest)
            except QueryError:
                continue
            relaxed.append((rest, branch[i]))
    return relaxed


def quiet_day_note(
    *,
    interests: Sequence[str],
    muted: Sequence[str] = (),
    docs: Sequence[PaperDoc] = (),
    index: PaperIndex | None = None,
    exclude: set[int] = frozenset(),  # type: ignore[assignment]
    limit: int = NEAR_MISSES_MAX,
) -> QuietNote:
    """The best near misses of the day for one subscriber (at most ``limit``, one per paper, best first).

    Pass the day's ``index`` when planning many subscribers (built once); otherwise ``docs``.
    Papers in ``exclude`` (already sent) are never offered.
    """
    if index is None:
        if not docs:
            return QuietNote(())
        index = PaperIndex.build(list(docs))
    best: dict[int, NearMiss] = {}
    for interest in interests:
        try:
            full = {
                m.paper_key for m in match_profile(index, Profile(key=0, interests=(interest,), muted=tuple(muted)))
            }
        except QueryError:
            continue
        for relaxed, missing in interest_relaxations(interest):
            profile = Profile(key=0, interests=(relaxed,), muted=tuple(muted), limit=limit + len(full) + len(exclude))
            for match in match_profile(index, profile):
                if match.paper_key in full or match.paper_key in exclude:
                    continue
                seen = best.get(match.paper_key)
                if seen is None or match.score > seen.score:
                    best[match.paper_key] = NearMiss(
                        paper_key=match.paper_key,
                        interest=interest,
                        missing=missing,
                        score=match.score,
                        matched_terms=match.matched_terms,
                    )
    ranked = sorted(best.values(), key=lambda miss: (-miss.score, miss.paper_key))
    return QuietNote(tuple(ranked[:limit]))


def quiet_note_content(note: QuietNote) -> list[ContentEntry]:
    """The note in ``Delivery.content``'s shape (one entry per near miss), flagged ``"near_miss": true``
    with the clause the paper lacks, so the archive can show a quiet-day note as it was emailed."""
    return [
        content_near_miss_entry(
            paper_key=miss.paper_key,
            score=miss.score,
            interest=miss.interest,
            terms=miss.matched_terms,
            missing=miss.missing,
        )
        for miss in note.near_misses
    ]


def quiet_notes_for(
    *, profiles: Sequence[Profile], index: PaperIndex, exclude: Mapping[int, set[int]]
) -> dict[int, list[ContentEntry]]:
    """The planner's call for one window: for each profile (the opted-in subscribers nothing matched),
    the note as ``Delivery.content``; subscribers with no near miss either are left out."""
    notes: dict[int, list[ContentEntry]] = {}
    for profile in profiles:
        note = quiet_day_note(
            interests=profile.interests, muted=profile.muted, index=index, exclude=exclude.get(profile.key, set())
        )
        if not note.empty:
            notes[profile.key] = quiet_note_content(note)
    return notes
