"""Benchmark: the day's match for many subscribers, against a naive per-subscriber regex loop.

    python -m benchmarks.matching --subscribers 100000 --papers 2000

Papers are synthesised from the shared corpus (``<repo>/../shared/corpus/papers.jsonl``) by
recombining titles and abstract sentences; subscribers get 3-8 interests drawn (with a popularity
skew, as real interests are) from phrases and words mined from the corpus: bare words, phrases,
hyphenated forms, OR, exclusions, title:/author:/category: fields, and sometimes muted words.
Everything is seeded, so two runs see the same data.

Seconds are wall-clock; the CPU seconds of the same span are printed too, since on a shared machine
the wall clock also measures the neighbours.  Peak memory is the process's peak resident set size
(``resource.getrusage``), which includes the interpreter, numpy/scipy and the synthetic data
themselves: an upper bound for the engine.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import sys
import time
from collections import Counter
from pathlib import Path

from digest.matching import PaperDoc, PaperIndex, Profile, match_profiles, naive_match, naive_prepare

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "papers.jsonl"
CATEGORIES = ("cs.LG", "cs.CL", "cs.CV", "cs.AI", "stat.ML", "cs.RO", "cs.NE", "cs.IR", "eess.IV", "q-bio.NC")
FIRST = (
    "Ada",
    "Wei",
    "Maria",
    "José",
    "Yann",
    "Fei",
    "Geoffrey",
    "Anima",
    "Chen",
    "Priya",
    "Lukas",
    "Sofia",
    "Hiroshi",
    "Amina",
    "Olga",
    "Rafael",
    "Zoë",
    "Björn",
    "Nadia",
    "Kenji",
)
LAST = (
    "Hinton",
    "Zhang",
    "García",
    "Müller",
    "Nguyen",
    "Kumar",
    "Smith",
    "Rossi",
    "Dubois",
    "Kowalski",
    "Tanaka",
    "Okafor",
    "Ivanova",
    "Silva",
    "Schölkopf",
    "Li",
    "Wang",
    "Bengio",
    "Kim",
    "Novak",
)
STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "for",
        "and",
        "or",
        "in",
        "on",
        "to",
        "with",
        "by",
        "via",
        "from",
        "is",
        "are",
        "be",
        "as",
        "at",
        "we",
        "our",
        "this",
        "that",
        "these",
        "its",
        "it",
        "into",
        "can",
        "using",
        "based",
        "towards",
        "toward",
        "than",
        "not",
        "no",
        "new",
        "how",
        "what",
        "when",
        "why",
        "which",
        "do",
        "does",
        "via",
        "their",
        "more",
    ]
)
WORD_RE = re.compile(r"[A-Za-z][A-Za-z0-9-]+")


def load_corpus(path: Path = CORPUS) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def make_papers(corpus: list[dict], count: int, rng: random.Random) -> list[PaperDoc]:
    """Recombine corpus papers: a title, and abstract sentences from two or three papers."""
    sentences = [re.split(r"(?<=[.!?])\s+", row["abstract"]) for row in corpus]
    papers = []
    for key in range(1, count + 1):
        base = rng.randrange(len(corpus))
        parts = list(sentences[base])
        for other in rng.sample(range(len(corpus)), 2):
            parts += rng.sample(sentences[other], min(2, len(sentences[other])))
        rng.shuffle(parts[1:])
        abstract = " ".join(parts[: rng.randint(6, 12)])
        authors = tuple(f"{rng.choice(FIRST)} {rng.choice(LAST)}" for _ in range(rng.randint(1, 6)))
        categories = tuple(rng.sample(CATEGORIES, rng.randint(1, 3)))
        popularity = rng.choice((None, None, 0, rng.randint(0, 300)))
        papers.append(PaperDoc(key, corpus[base]["title"], abstract, authors, categories, popularity))
    return papers


def mine_phrases(corpus: list[dict]) -> tuple[list[str], list[str]]:
    """Words and two/three-word phrases that occur in several corpus papers (what people subscribe to)."""
    words: Counter[str] = Counter()
    phrases: Counter[str] = Counter()
    for row in corpus:
        toks = WORD_RE.findall(row["title"] + " " + row["abstract"])
        low = [t.lower() for t in toks]
        words.update(sorted({w for w in low if w not in STOP and len(w) > 3}))
        grams = set()
        for n in (2, 3):
            for i in range(len(low) - n + 1):
                gram = low[i : i + n]
                if gram[0] in STOP or gram[-1] in STOP or any(len(g) < 3 for g in gram):
                    continue
                grams.add(" ".join(gram))
        phrases.update(sorted(grams))
    n = len(corpus)
    # Subscribers name topics, not filler: keep words found in a few papers, not in a quarter of them.
    # Sorted by count, then alphabetically: independent of hash randomisation, so every run (and
    # every machine) gets the same subscribers.
    good_words = [w for w, c in sorted(words.items(), key=lambda kv: (-kv[1], kv[0])) if 2 <= c <= n * 0.03]
    good_phrases = [p for p, c in sorted(phrases.items(), key=lambda kv: (-kv[1], kv[0])) if 2 <= c <= n * 0.05]
    return good_words, good_phrases


def make_interest_pool(corpus: list[dict], size: int, rng: random.Random) -> list[str]:
    words, phrases = mine_phrases(corpus)
    pool: list[str] = []
    seen: set[str] = set()
    while len(pool) < size:
        kind = rng.random()
        if kind < 0.25:
            q = rng.choice(words)
        elif kind < 0.45:
            q = f'"{rng.choice(phrases)}"'
        elif kind < 0.55:
            q = rng.choice(phrases)  # bare words, ANDed
        elif kind < 0.60:
            q = rng.choice(phrases).replace(" ", "-", 1)
        elif kind < 0.72:
            q = f'{rng.choice(words)} OR "{rng.choice(phrases)}"'
        elif kind < 0.82:
            q = f"{rng.choice(phrases)} -{rng.choice(words)}"
        elif kind < 0.90:
            q = f"title:{rng.choice(words)}"
        elif kind < 0.95:
            q = f"{rng.choice(words)} category:{rng.choice(CATEGORIES)}"
        else:
            q = f"author:{rng.choice(LAST)}"
        if q not in seen:
            seen.add(q)
            pool.append(q)
    return pool


def make_profiles(
    corpus: list[dict],
    count: int,
    rng: random.Random,
    pool_size: int = 4000,
    *,
    pool: list[str] | None = None,
    first_key: int = 1,
) -> list[Profile]:
    """``count`` subscribers with 3-8 interests of a pool of ``pool_size`` (made here unless given: a
    caller making subscribers in blocks passes one pool, so every block draws from the same interests)."""
    pool = pool if pool is not None else make_interest_pool(corpus, pool_size, rng)
    words, _ = mine_phrases(corpus)
    weights = [1.0 / (rank + 20) for rank in range(len(pool))]  # a few interests are very popular
    profiles = []
    for key in range(first_key, first_key + count):
        interests = tuple(dict.fromkeys(rng.choices(pool, weights, k=rng.randint(3, 8))))
        muted = tuple(rng.sample(words, rng.randint(1, 2))) if rng.random() < 0.2 else ()
        profiles.append(Profile(key, interests, muted, limit=rng.choice((5, 10, 10, 10, 20))))
    return profiles


READ_SAMPLE = 2_000  # digests whose reasons/snippets are read, to time that part


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run(subscribers: int, papers: int, *, seed: int = 7, sample: int = 30, corpus_path: Path = CORPUS) -> dict:
    """Run the benchmark; returns the figures (the test uses this with small numbers)."""
    rng = random.Random(seed)
    corpus = load_corpus(corpus_path)
    docs = make_papers(corpus, papers, rng)
    profiles = make_profiles(corpus, subscribers, rng)

    cpu0 = time.process_time()
    t0 = time.perf_counter()
    index = PaperIndex.build(docs)
    build_s = time.perf_counter() - t0
    stats: dict = {}
    t0 = time.perf_counter()
    result = match_profiles(index, profiles, stats=stats)
    match_s = time.perf_counter() - t0
    cpu_s = time.process_time() - cpu0
    memory = peak_mib()
    # Reasons, spans and snippets are worked out when first read, i.e. when a digest is rendered
    # (later, per subscriber): time reading them for a sample of digests, per match.
    read = [m for matches in list(result.values())[:READ_SAMPLE] for m in matches]
    t0 = time.process_time()
    for m in read:
        _ = (m.reasons, m.title_spans, m.snippet, m.snippet_spans)
    read_us = (time.process_time() - t0) / max(len(read), 1) * 1e6

    # The naive loop on a sample; both must find exactly the same subscriber-paper pairs.
    chosen = random.Random(seed + 1).sample(profiles, min(sample, len(profiles)))
    prepared = naive_prepare(docs)
    t0 = time.perf_counter()
    naive = {p.key: naive_match(prepared, p) for p in chosen}
    naive_s = time.perf_counter() - t0
    unlimited = [Profile(p.key, p.interests, p.muted, limit=len(docs)) for p in chosen]
    indexed_all = match_profiles(index, unlimited)
    indexed = {p.key: {m.paper_key for m in indexed_all.get(p.key, [])} for p in chosen}
    disagreements = sorted(k for k in naive if naive[k] != indexed[k])
    naive_total = naive_s / max(len(chosen), 1) * len(profiles)
    total_s = build_s + match_s
    return {
        "subscribers": len(profiles),
        "papers": len(docs),
        "build_s": build_s,
        "match_s": match_s,
        "read_us": read_us,
        "seconds": total_s,
        "cpu_seconds": cpu_s,
        "peak_mib": memory,
        "pairs": stats.get("candidate_pairs", 0),
        "delivered": sum(len(v) for v in result.values()),
        "with_matches": len(result),
        "distinct_queries": stats.get("distinct_queries", 0),
        "stats": stats,
        "sample": len(chosen),
        "sample_pairs": sum(len(v) for v in naive.values()),
        "naive_sample_s": naive_s,
        "naive_extrapolated_s": naive_total,
        "naive_ratio": naive_total / total_s if total_s else 0.0,
        "disagreements": disagreements,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--papers", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sample", type=int, default=30, help="subscribers timed with the naive loop")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="the papers JSONL to synthesise from")
    args = parser.parse_args(argv)
    r = run(args.subscribers, args.papers, seed=args.seed, sample=args.sample, corpus_path=args.corpus)
    s = r["stats"]
    rows = [
        ("subscribers x papers", f"{r['subscribers']:,} x {r['papers']:,}"),
        ("distinct queries", f"{r['distinct_queries']:,}"),
        ("index build (s)", f"{r['build_s']:.3f}"),
        ("  compile (CPU s)", f"{s.get('compile_s', 0):.3f}"),
        ("  evaluate queries (CPU s)", f"{s.get('evaluate_s', 0):.3f}"),
        ("  combine + mute (CPU s)", f"{s.get('combine_s', 0):.3f}"),
        ("  rank top-N (CPU s)", f"{s.get('rank_s', 0):.3f}"),
        ("  build the Match lists (CPU s)", f"{s.get('explain_s', 0):.3f}"),
        ("match + rank (s)", f"{r['match_s']:.3f}"),
        ("later: explain 1 match, CPU us (cold caches)", f"{r['read_us']:.1f}"),
        ("seconds (build + match, wall)", f"{r['seconds']:.3f}"),
        ("CPU seconds (build + match)", f"{r['cpu_seconds']:.3f}"),
        ("peak MiB (max RSS)", f"{r['peak_mib']:.1f}"),
        ("matched pairs", f"{r['pairs']:,}"),
        ("delivered pairs (top-N)", f"{r['delivered']:,}"),
        ("subscribers with matches", f"{r['with_matches']:,}"),
        (f"naive loop, {r['sample']} subscribers (s)", f"{r['naive_sample_s']:.3f}"),
        ("naive loop extrapolated (s)", f"{r['naive_extrapolated_s']:.1f}"),
        ("ratio naive / indexed", f"{r['naive_ratio']:.1f}x"),
        ("sample agreement", "OK" if not r["disagreements"] else f"{len(r['disagreements'])} differ"),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value:>16}")
    print(
        f"RESULT seconds={r['seconds']:.3f} peak_mib={r['peak_mib']:.1f} pairs={r['pairs']} "
        f"naive_ratio={r['naive_ratio']:.1f}"
    )
    return 1 if r["disagreements"] else 0


if __name__ == "__main__":
    sys.exit(main())
