"""Does feedback help? A replay of simulated readers over the shared corpus, keywords vs keywords + learning.

    python -m benchmarks.feedback            # 5 readers, 14 days (the figures in docs/PERFORMANCE.md)
    python -m benchmarks.feedback --small    # 2 readers, 5 days (CI)

The simulation, and why it is built this way:

* **Readers.** Each reader states broad keyword interests (what people type: ``generalization``)
  but truly wants something narrower, a *hidden* interest written in the same query language
  (generalization *theory*: bounds, training dynamics, sharpness ...). A paper is relevant to a
  reader iff the matching engine matches it against the hidden interest; the keyword arm and the
  learned ranker never see the hidden interest, only the reader's clicks.
* **Days.** Each day is a sample of ``day_size`` papers from the 283-paper corpus (a fresh sample
  per day, the same for both arms, so the comparison is paired). The corpus is small, so a paper
  can come back on a later day as a "new" paper; the model is then never trained on feedback about
  any paper in today's sample, so it cannot have seen what it ranks.
* **Library.** Each reader also has a small library (issue 17): three papers they already know that
  their hidden interest matches (drawn once per reader, seeded). Those papers are never shown to the
  learned arms (a digest never lists a library's own papers). As in Paperboy, "more like this" puts
  a paper in the library: the papers a reader liked so far (none of today's) join the three.
* **Digest.** Every arm matches the day with the reader's stated interests (same engine, same
  matches). *Keywords* shows the top 10 by keyword score. *Learned* is what Paperboy does for a
  reader with keywords, a library and clicks: the keyword matches and the papers most like the
  library ranked together (``digest.library.combine``), then re-ordered by the reader's model once
  there is one, trained on their likes *and their library* (the prior) against their dislikes
  (a model needs 5 positives and 3 dislikes, as in production). *Clicks only* is the learned ranking
  with no library at all, not even the liked papers (the figure before issue 17). Up to 3 "you might
  also like" papers are reported separately; precision@10 is measured on the 10 papers shown first.
* **Feedback.** A reader clicks "more like this" on a relevant paper shown with probability 0.7
  and "less like this" on an irrelevant one with probability 0.4 (people skip most cards). The
  learned arm's model is retrained after every day, as the Celery task does.

precision@10 = relevant papers among the (up to) 10 shown / number shown. The last line is
``RESULT keywords_p10=<float> learned_p10=<float> clicks_only_p10=<float>``: means over all readers and days.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from digest.feedback.ranker import FeatureMatrix, matches_rerank, ranker_train, suggestions_pick
from digest.library.combine import matches_combine
from digest.library.records import LibraryPaperDoc
from digest.library.similarity import LibraryIndex, library_match
from digest.matching import Match, PaperDoc, PaperIndex, Profile, match_profile, naive_match, naive_prepare

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "papers.jsonl"
DIGEST_SIZE = 10
# With a model, the matcher is asked for this many papers so re-ranking can promote lower ones.
POOL = 3 * DIGEST_SIZE
P_LIKE_RELEVANT = 0.7
P_DISLIKE_IRRELEVANT = 0.4
LIBRARY_SIZE = 3


@dataclass(frozen=True)
class Reader:
    name: str
    stated: tuple[str, ...]  # what they typed into their preferences
    hidden: str  # what they really want (never shown to the system)


READERS = (
    Reader(
        "theorist",
        ("generalization",),
        'generalization (bound OR theory OR "training dynamics" OR sharpness OR SGD OR memorization OR grokking'
        ' OR overparameterized OR "neural tangent")',
    ),
    Reader(
        "llm-data",
        ('"language model"', "LLM"),
        '("language model" OR LLM) ("data selection" OR "instruction tuning" OR "fine-tuning" OR pretraining'
        ' OR "synthetic data" OR "data quality")',
    ),
    Reader(
        "interpretability",
        ("bottleneck", "interpretable OR interpretability OR explainable"),
        "concept (bottleneck OR interpretable OR interpretability OR explainable OR explanation)",
    ),
    Reader(
        "generative-vision",
        ("image OR vision OR video OR visual",),
        "diffusion OR generation OR generative OR 3D OR synthesis",
    ),
    Reader(
        "efficiency",
        ("efficient OR scaling OR memory",),
        'pruning OR quantization OR compression OR sparse OR distillation OR "low-rank"',
    ),
)


@dataclass(frozen=True)
class Config:
    readers: int = len(READERS)
    days: int = 14
    day_size: int = 80
    seed: int = 7


SMALL = Config(readers=2, days=5, day_size=60)


@dataclass
class ArmState:
    """One reader in one arm: their feedback so far (paper key -> liked?)."""

    votes: dict[int, bool] = field(default_factory=dict)


@dataclass
class DayResult:
    day: int
    keywords_p10: float
    learned_p10: float
    clicks_only_p10: float
    models: int  # readers whose learned ranking (with their library) was active that day
    suggested: int
    suggested_relevant: int


@dataclass
class Result:
    days: list[DayResult]
    keywords_p10: float
    learned_p10: float
    clicks_only_p10: float
    suggestion_precision: float | None
    seconds: float


def corpus_load(path: Path = CORPUS) -> list[PaperDoc]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [PaperDoc(key=i, title=row["title"], abstract=row["abstract"]) for i, row in enumerate(rows)]


def precision(shown: list[int], relevant: set[int]) -> float | None:
    if not shown:
        return None
    return sum(key in relevant for key in shown) / len(shown)


def feedback_give(state: ArmState, shown: list[int], relevant: set[int], rng: random.Random) -> None:
    for key in shown:
        if key in relevant:
            if rng.random() < P_LIKE_RELEVANT:
                state.votes[key] = True
        elif rng.random() < P_DISLIKE_IRRELEVANT:
            state.votes[key] = False


def library_pick(reader: Reader, truth: set[int], seed: int) -> list[int]:
    """The reader's library: papers their hidden interest matches, drawn once (seeded)."""
    return random.Random(f"{seed}/library/{reader.name}").sample(sorted(truth), min(LIBRARY_SIZE, len(truth)))


@dataclass
class Day:
    """One day's papers, tokenised once for every reader (as the planner does)."""

    docs: list[PaperDoc]
    keys: set[int]
    index: PaperIndex
    features: FeatureMatrix
    like_index: LibraryIndex


def library_docs(papers: list[PaperDoc]) -> list[LibraryPaperDoc]:
    """Corpus papers as a library's papers."""
    return [LibraryPaperDoc(key=f"library:{d.key}", title=d.title, abstract=d.abstract) for d in papers]


def learned_digest(
    *,
    day: Day,
    matches: list[Match],
    state: ArmState,
    by_key: dict[int, PaperDoc],
    library: list[LibraryPaperDoc],
    own: set[int],
) -> tuple[list[int], list[int], bool]:
    """(shown, suggested, had a model) for one reader in a learning arm (``library`` empty: clicks only)."""
    # Never train on a paper that is in today's sample: the model must not have seen it.
    liked = [by_key[k] for k, v in sorted(state.votes.items()) if v and k not in day.keys]
    disliked = [by_key[k] for k, v in sorted(state.votes.items()) if not v and k not in day.keys]
    model = ranker_train(liked=liked, disliked=disliked, background=day.features, prior=library)
    found = [m for m in matches if m.paper_key not in own]
    if library:
        # As the planner reads a library (digest.library.selectors.libraries_for): the imported papers
        # and the papers liked so far ("more like this" puts a paper in the library).
        like = library_match(day.like_index, [*library, *library_docs(liked)], limit=POOL, exclude=own)
        found = matches_combine(keyword=found, like=like, limit=POOL, abstract_of=day.like_index.abstracts)
    if model is None:
        return [m.paper_key for m in found[:DIGEST_SIZE]], [], False
    order = matches_rerank(
        model, [by_key[m.paper_key] for m in found], {m.paper_key: m.score for m in found}, features=day.features
    )
    shown = [key for key, _ in order][:DIGEST_SIZE]
    exclude = {m.paper_key for m in found} | own
    suggested = [key for key, _ in suggestions_pick(model, day.docs, exclude=exclude, features=day.features)]
    return shown, suggested, True


def run(config: Config = Config(), *, corpus: list[PaperDoc] | None = None, out=None) -> Result:
    started = time.perf_counter()
    docs = corpus if corpus is not None else corpus_load()
    by_key = {d.key: d for d in docs}
    readers = READERS[: config.readers]
    prepared = naive_prepare(docs)
    relevant = {r.name: naive_match(prepared, Profile(key=0, interests=(r.hidden,))) for r in readers}
    libraries = {r.name: library_pick(r, relevant[r.name], config.seed) for r in readers}
    rng = random.Random(config.seed)
    states = {arm: {r.name: ArmState() for r in readers} for arm in ("learned", "clicks_only")}
    click_seed = rng.randrange(2**32)  # the keyword arm does not learn, so only the learning arms' clicks matter
    days: list[DayResult] = []
    totals: dict[str, list[float]] = {"keywords": [], "learned": [], "clicks_only": []}
    suggested_total = suggested_hits = 0
    for number in range(1, config.days + 1):
        today = rng.sample(docs, min(config.day_size, len(docs)))
        day = Day(today, {d.key for d in today}, PaperIndex.build(today), FeatureMatrix(today), LibraryIndex(today))
        scores: dict[str, list[float]] = {"keywords": [], "learned": [], "clicks_only": []}
        models = day_suggested = day_suggested_hits = 0
        for reader in readers:
            truth = relevant[reader.name]
            matches = match_profile(day.index, Profile(key=0, interests=reader.stated, limit=POOL))
            shown = {"keywords": [m.paper_key for m in matches[:DIGEST_SIZE]]}
            library = library_docs([by_key[k] for k in libraries[reader.name]])
            own = set(libraries[reader.name])
            for arm, arm_library, arm_own in (("learned", library, own), ("clicks_only", [], set())):
                arm_shown, suggested, had_model = learned_digest(
                    day=day,
                    matches=matches,
                    state=states[arm][reader.name],
                    by_key=by_key,
                    library=arm_library,
                    own=arm_own,
                )
                shown[arm] = arm_shown
                # The clicks-only arm draws exactly the clicks it drew before libraries existed.
                suffix = "" if arm == "clicks_only" else f"/{arm}"
                clicks = random.Random(f"{click_seed}/{number}/{reader.name}{suffix}")
                feedback_give(states[arm][reader.name], arm_shown + suggested, truth, clicks)
                if arm == "learned":
                    models += had_model
                    day_suggested += len(suggested)
                    day_suggested_hits += sum(key in truth for key in suggested)
            measured = {arm: precision(keys, truth) for arm, keys in shown.items()}
            if all(p is not None for p in measured.values()):
                for arm, p in measured.items():
                    scores[arm].append(float(p or 0.0))
        mean = {arm: sum(v) / len(v) if v else 0.0 for arm, v in scores.items()}
        result = DayResult(
            day=number,
            keywords_p10=mean["keywords"],
            learned_p10=mean["learned"],
            clicks_only_p10=mean["clicks_only"],
            models=models,
            suggested=day_suggested,
            suggested_relevant=day_suggested_hits,
        )
        days.append(result)
        for arm in totals:
            totals[arm] += scores[arm]
        suggested_total += day_suggested
        suggested_hits += day_suggested_hits
        if out is not None:
            print(
                f"day {number:2d}  keywords_p10={result.keywords_p10:.3f}  learned_p10={result.learned_p10:.3f}"
                f"  clicks_only_p10={result.clicks_only_p10:.3f}  models={models}/{len(readers)}"
                f"  suggestions={day_suggested_hits}/{day_suggested} relevant",
                file=out,
            )
    average = {arm: sum(v) / len(v) if v else 0.0 for arm, v in totals.items()}
    return Result(
        days=days,
        keywords_p10=average["keywords"],
        learned_p10=average["learned"],
        clicks_only_p10=average["clicks_only"],
        suggestion_precision=suggested_hits / suggested_total if suggested_total else None,
        seconds=time.perf_counter() - started,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="2 readers, 5 days, 60 papers a day (CI)")
    parser.add_argument("--readers", type=int, help=f"1..{len(READERS)}")
    parser.add_argument("--days", type=int)
    parser.add_argument("--day-size", type=int)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args(argv)
    base = SMALL if args.small else Config()
    config = Config(
        readers=max(1, min(args.readers or base.readers, len(READERS))),
        days=args.days or base.days,
        day_size=args.day_size or base.day_size,
        seed=base.seed if args.seed is None else args.seed,
    )
    if not args.corpus.exists():
        print(f"corpus not found: {args.corpus}", file=sys.stderr)
        return 2
    print(
        f"readers={config.readers} days={config.days} papers/day={config.day_size} seed={config.seed}"
        f" digest={DIGEST_SIZE} pool={POOL}",
        file=sys.stdout,
    )
    result = run(config, corpus=corpus_load(args.corpus), out=sys.stdout)
    if result.suggestion_precision is not None:
        print(f"suggestions: {result.suggestion_precision:.3f} of 'you might also like' papers were relevant")
    print(f"took {result.seconds:.1f}s")
    if result.keywords_p10:
        print(
            f"learned (clicks + library) {result.learned_p10 / result.keywords_p10:.2f}x keywords alone;"
            f" clicks only {result.clicks_only_p10 / result.keywords_p10:.2f}x"
        )
    print(
        f"RESULT keywords_p10={result.keywords_p10:.4f} learned_p10={result.learned_p10:.4f}"
        f" clicks_only_p10={result.clicks_only_p10:.4f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
