"""How good are "papers like these"? precision@10 on a judged set over the shared corpus.

    python -m benchmarks.relevance                     # the figures in docs/PERFORMANCE.md
    python -m benchmarks.relevance --judgements FILE --corpus FILE --verbose

The judged set (``benchmarks/data/relevance_judgements.json``) has research topics, each with three
seed papers (a subscriber's library), two or three queries that subscriber would type, and every
corpus paper judged *relevant* or *partly* relevant to the topic by reading its title and abstract
(all others: not relevant). Papers are named by their title key (``digest.ingest.text.title_key``),
never by their text, so the corpus stays outside the repository.

Per topic, with the three seeds taken out of the pool (they are never listed), four rankings of the
corpus are cut at 10:

* **keywords**: the matching engine with the topic's queries as the subscriber's interests;
* **like**: the library alone (``digest.library.similarity``);
* **both**: the two ranked together as a digest ranks them (``digest.library.combine``);
* **baseline**: arxiv-sanity-lite's way of ranking a tag: tf-idf of words and word pairs, a linear
  SVM with the seeds as positives and every other paper as negatives, papers by decision value.

precision@10 = papers judged relevant or partly relevant among those listed (TREC's lenient
reading of a graded judgement); the strict figure (relevant only) is printed too. A ranking that
lists fewer than 10 papers is charged for the missing ones. The last line is
``RESULT keywords_p10= like_p10= both_p10= baseline_p10=`` (means over topics).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from digest.ingest.text import title_key
from digest.library.combine import matches_combine, pool_size
from digest.library.records import LibraryPaperDoc
from digest.library.similarity import LibraryIndex, library_match
from digest.matching import PaperDoc, PaperIndex, Profile, match_profile

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "papers.jsonl"
JUDGEMENTS = ROOT / "benchmarks" / "data" / "relevance_judgements.json"
K = 10
ARMS = ("keywords", "like", "both", "baseline")


@dataclass(frozen=True)
class Topic:
    name: str
    queries: tuple[str, ...]
    seeds: tuple[str, ...]  # title keys
    judgements: dict[str, str]  # title key -> "relevant" | "partly"


def topics_load(path: Path) -> list[Topic]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [Topic(t["name"], tuple(t["queries"]), tuple(t["seeds"]), dict(t["judgements"])) for t in data["topics"]]


def corpus_load(path: Path) -> list[PaperDoc]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [PaperDoc(key=i, title=row["title"], abstract=row["abstract"]) for i, row in enumerate(rows)]


def precision(listed: list[int], keys: list[str], judged: dict[str, str], *, strict: bool = False) -> float:
    wanted = {"relevant"} if strict else {"relevant", "partly"}
    return sum(judged.get(keys[i]) in wanted for i in listed[:K]) / K


def baseline_rank(docs: list[PaperDoc], seeds: list[int]) -> list[int]:
    """arxiv-sanity-lite: tf-idf (1-2 grams, sublinear) + LinearSVC(C=0.01, balanced), seeds positive."""
    texts = [f"{d.title}. {d.abstract}" for d in docs]
    vectors = TfidfVectorizer(
        ngram_range=(1, 2), stop_words="english", sublinear_tf=True, strip_accents="unicode", max_features=20000
    ).fit_transform(texts)
    labels = np.zeros(len(docs))
    labels[seeds] = 1
    svm = LinearSVC(class_weight="balanced", C=0.01, max_iter=20000, tol=1e-6)
    svm.fit(vectors, labels)
    scores = svm.decision_function(vectors)
    return [int(i) for i in np.lexsort((np.arange(len(docs)), -scores)) if i not in set(seeds)]


def topic_run(topic: Topic, docs: list[PaperDoc], keys: list[str], index: PaperIndex, like_index: LibraryIndex):
    position = {key: i for i, key in enumerate(keys)}
    missing = [s for s in topic.seeds if s not in position]
    if missing:
        raise SystemExit(f"topic {topic.name}: seed not in the corpus: {missing[0]!r}")
    seeds = [position[s] for s in topic.seeds]
    library = [LibraryPaperDoc(key=f"title:{keys[i]}", title=docs[i].title, abstract=docs[i].abstract) for i in seeds]
    pool = pool_size(K)  # as a digest of K is fused (digest/library/combine.py)
    keyword = [
        m
        for m in match_profile(index, Profile(key=0, interests=topic.queries, limit=pool + len(seeds)))
        if m.paper_key not in seeds
    ][:pool]
    like = library_match(like_index, library, limit=pool, exclude=seeds)
    both = matches_combine(keyword=keyword, like=like, limit=K, abstract_of=lambda key: docs[key].abstract)
    return {
        "keywords": [m.paper_key for m in keyword][:K],
        "like": [m.paper_key for m in like][:K],
        "both": [m.paper_key for m in both],
        "baseline": baseline_rank(docs, seeds)[:K],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--judgements", type=Path, default=JUDGEMENTS)
    parser.add_argument("--verbose", action="store_true", help="list each arm's top 10 with the judgements")
    args = parser.parse_args(argv)
    if not args.corpus.exists():
        print(f"corpus not found: {args.corpus}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    docs = corpus_load(args.corpus)
    keys = [title_key(d.title) for d in docs]
    topics = topics_load(args.judgements)
    index = PaperIndex.build(docs)
    like_index = LibraryIndex.build(docs)
    totals: dict[str, list[float]] = {arm: [] for arm in ARMS}
    strict: dict[str, list[float]] = {arm: [] for arm in ARMS}
    print(f"{len(docs)} papers, {len(topics)} topics, precision@{K} (relevant or partly; strict in brackets)")
    print(f"{'topic':26s}" + "".join(f"{arm:>16s}" for arm in ARMS))
    for topic in topics:
        listed = topic_run(topic, docs, keys, index, like_index)
        line = f"{topic.name:26s}"
        for arm in ARMS:
            p = precision(listed[arm], keys, topic.judgements)
            s = precision(listed[arm], keys, topic.judgements, strict=True)
            totals[arm].append(p)
            strict[arm].append(s)
            line += f"{p:>10.2f} ({s:.2f})"
        print(line)
        if args.verbose:
            for arm in ARMS:
                print(f"  {arm}:")
                for i in listed[arm]:
                    print(f"    {topic.judgements.get(keys[i], '-'):8s} {docs[i].title[:90]}")
    means = {arm: float(np.mean(totals[arm])) for arm in ARMS}
    print(f"{'mean':26s}" + "".join(f"{means[arm]:>10.3f} ({np.mean(strict[arm]):.2f})" for arm in ARMS))
    worse = [t.name for t, k, b in zip(topics, totals["keywords"], totals["both"], strict=True) if b < k]
    print(f"topics where both < keywords alone: {', '.join(worse) or 'none'}")
    print(f"took {time.perf_counter() - started:.1f}s")
    print(
        f"RESULT keywords_p10={means['keywords']:.4f} like_p10={means['like']:.4f} "
        f"both_p10={means['both']:.4f} baseline_p10={means['baseline']:.4f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
