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
* **Digest.** Both arms match the day with the reader's stated interests (same engine, same
  matches). *Keywords* shows the top 10 by keyword score. *Learned* re-orders the matches with the
  reader's model once they gave enough feedback (5 likes and 3 dislikes, as in production) and
  adds up to 3 "you might also like" papers, reported separately: precision@10 is measured on the
  10 keyword-matched papers shown first.
* **Feedback.** A reader clicks "more like this" on a relevant paper shown with probability 0.7
  and "less like this" on an irrelevant one with probability 0.4 (people skip most cards). The
  learned arm's model is retrained after every day, as the Celery task does.

precision@10 = relevant papers among the (up to) 10 shown / number shown. The last line is
``RESULT keywords_p10=<float> learned_p10=<float>``: the mean over all readers and days.
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
from digest.matching import PaperDoc, PaperIndex, Profile, match_profile, naive_match, naive_prepare

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "papers.jsonl"
DIGEST_SIZE = 10
# With a model, the matcher is asked for this many papers so re-ranking can promote lower ones.
POOL = 3 * DIGEST_SIZE
P_LIKE_RELEVANT = 0.7
P_DISLIKE_IRRELEVANT = 0.4


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
    models: int  # readers whose learned ranking was active that day
    suggested: int
    suggested_relevant: int


@dataclass
class Result:
    days: list[DayResult]
    keywords_p10: float
    learned_p10: float
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


def run(config: Config = Config(), *, corpus: list[PaperDoc] | None = None, out=None) -> Result:
    started = time.perf_counter()
    docs = corpus if corpus is not None else corpus_load()
    by_key = {d.key: d for d in docs}
    readers = READERS[: config.readers]
    prepared = naive_prepare(docs)
    relevant = {r.name: naive_match(prepared, Profile(key=0, interests=(r.hidden,))) for r in readers}
    rng = random.Random(config.seed)
    learned_state = {r.name: ArmState() for r in readers}
    click_seed = rng.randrange(2**32)  # the keyword arm does not learn, so only the learned arm's clicks matter
    days: list[DayResult] = []
    all_k: list[float] = []
    all_l: list[float] = []
    suggested_total = suggested_hits = 0
    for day in range(1, config.days + 1):
        today = rng.sample(docs, min(config.day_size, len(docs)))
        today_keys = {d.key for d in today}
        index = PaperIndex.build(today)
        features = FeatureMatrix(today)  # tokenised once a day for every reader, as the planner does
        k_day: list[float] = []
        l_day: list[float] = []
        models = day_suggested = day_suggested_hits = 0
        for reader in readers:
            truth = relevant[reader.name]
            matches = match_profile(index, Profile(key=0, interests=reader.stated, limit=POOL))
            keyword_shown = [m.paper_key for m in matches[:DIGEST_SIZE]]

            state = learned_state[reader.name]
            # Never train on a paper that is in today's sample: the model must not have seen it.
            liked = [by_key[k] for k, v in sorted(state.votes.items()) if v and k not in today_keys]
            disliked = [by_key[k] for k, v in sorted(state.votes.items()) if not v and k not in today_keys]
            model = ranker_train(liked=liked, disliked=disliked, background=features)
            learned_shown = keyword_shown
            suggested: list[int] = []
            if model is not None:
                models += 1
                order = matches_rerank(
                    model,
                    [by_key[m.paper_key] for m in matches],
                    {m.paper_key: m.score for m in matches},
                    features=features,
                )
                learned_shown = [key for key, _ in order][:DIGEST_SIZE]
                exclude = {m.paper_key for m in matches}
                suggested = [key for key, _ in suggestions_pick(model, today, exclude=exclude, features=features)]
            day_suggested += len(suggested)
            day_suggested_hits += sum(key in truth for key in suggested)

            pk, pl = precision(keyword_shown, truth), precision(learned_shown, truth)
            if pk is not None and pl is not None:
                k_day.append(pk)
                l_day.append(pl)
            feedback_give(state, learned_shown + suggested, truth, random.Random(f"{click_seed}/{day}/{reader.name}"))
        result = DayResult(
            day=day,
            keywords_p10=sum(k_day) / len(k_day) if k_day else 0.0,
            learned_p10=sum(l_day) / len(l_day) if l_day else 0.0,
            models=models,
            suggested=day_suggested,
            suggested_relevant=day_suggested_hits,
        )
        days.append(result)
        all_k += k_day
        all_l += l_day
        suggested_total += day_suggested
        suggested_hits += day_suggested_hits
        if out is not None:
            print(
                f"day {day:2d}  keywords_p10={result.keywords_p10:.3f}  learned_p10={result.learned_p10:.3f}"
                f"  models={models}/{len(readers)}  suggestions={day_suggested_hits}/{day_suggested} relevant",
                file=out,
            )
    return Result(
        days=days,
        keywords_p10=sum(all_k) / len(all_k) if all_k else 0.0,
        learned_p10=sum(all_l) / len(all_l) if all_l else 0.0,
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
    print(f"RESULT keywords_p10={result.keywords_p10:.4f} learned_p10={result.learned_p10:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
