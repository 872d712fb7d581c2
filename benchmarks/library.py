"""Benchmark: "papers like these" for many subscribers' libraries against a day of papers.

    python -m benchmarks.library --subscribers 100000 --papers 2000 --catalog 20000

A day's papers and a catalog of library papers (the distinct papers in all libraries) are
synthesised from the shared corpus as ``benchmarks.matching`` does (a corpus title, abstract
sentences recombined from two or three papers). Each subscriber's library holds 1 to 50 papers
(uniform), drawn from one to three fields (a field: the catalog papers built on the same corpus
paper) and, for one in five papers, from anywhere: a researcher's library is about a few things,
with strays. Popular papers are in many libraries (a Zipf-like skew over each field).

Everything is timed from the plain records to every library's top 10 ranked *and explained* (the
library paper each is most like): tokenising the day and the catalog, the neighbours of each
library paper, scoring, ranking, explaining. ``--materialise`` also turns every match into
``LikeMatch`` records (the planner does that a batch at a time as it writes rows). Seconds are
wall-clock with the CPU seconds beside them; memory is the process's peak resident set size.
The last line is ``RESULT seconds= peak_mib= pairs=``.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks.matching import CORPUS, load_corpus, make_papers
from digest.library import similarity
from digest.library.combine import pool_size
from digest.library.records import Library, LibraryPaperDoc
from digest.library.similarity import LibraryIndex, libraries_match
from digest.library.words import TermVector, term_vector

MAX_LIBRARY = 50
DIGEST = 10  # papers in a digest


def make_catalog(corpus: list[dict], count: int, rng: random.Random) -> tuple[list[LibraryPaperDoc], list[list[int]]]:
    """Library papers, and for each corpus paper (a field) the catalog papers built on it."""
    position = {row["title"]: i for i, row in enumerate(corpus)}
    docs = make_papers(corpus, count, rng)
    fields: list[list[int]] = [[] for _ in corpus]
    catalog = []
    for i, doc in enumerate(docs):
        catalog.append(LibraryPaperDoc(key=f"catalog:{i}", title=doc.title, abstract=doc.abstract))
        fields[position[doc.title]].append(i)
    return catalog, [f for f in fields if f]


def make_libraries(
    catalog: list[LibraryPaperDoc], fields: list[list[int]], count: int, rng: random.Random
) -> list[Library]:
    gen = np.random.default_rng(rng.randrange(2**32))
    field_arrays = [np.array(f, dtype=np.int64) for f in fields]
    libraries = []
    for key in range(1, count + 1):
        size = int(gen.integers(1, MAX_LIBRARY + 1))
        mine = gen.choice(len(fields), size=int(gen.integers(1, 4)), replace=False)
        draws = 2 * size + 4  # more than needed: duplicates are dropped
        field_of = field_arrays_pick(field_arrays, mine[gen.integers(0, len(mine), draws)], gen)
        stray = gen.random(draws) < 0.2
        picks = np.where(stray, gen.integers(0, len(catalog), draws), field_of)
        chosen = list(dict.fromkeys(picks.tolist()))[:size]
        # As the planner asks: a pool 3x the digest for the fusion with keywords, the digest's 10 explained.
        papers = tuple(catalog[i].key for i in sorted(chosen))
        libraries.append(Library(key=key, papers=papers, limit=pool_size(DIGEST), shown=DIGEST))
    return libraries


def field_arrays_pick(fields: list[np.ndarray], which: np.ndarray, gen: np.random.Generator) -> np.ndarray:
    """One paper of each named field; Zipf-like: a field's first papers are in far more libraries."""
    rank = (gen.pareto(1.2, len(which))).astype(np.int64)
    return np.array([fields[f][min(r, len(fields[f]) - 1)] for f, r in zip(which.tolist(), rank.tolist(), strict=True)])


def run(*, subscribers: int, papers: int, catalog_size: int, seed: int, materialise: bool) -> dict:
    rng = random.Random(seed)
    corpus = load_corpus(CORPUS)
    day = make_papers(corpus, papers, rng)
    catalog, fields = make_catalog(corpus, catalog_size, rng)
    libraries = make_libraries(catalog, fields, subscribers, rng)
    entries = sum(len(lib.papers) for lib in libraries)
    distinct = len({k for lib in libraries for k in lib.papers})
    # Library papers' words are counted once, when they join a library, and stored as JSON (as
    # ``LibraryPaper.terms``): decoding them is part of the timed run, counting them is not.
    stored = {doc.key: json.dumps(term_vector(doc.title, doc.abstract).to_json()) for doc in catalog}
    wall, cpu = time.perf_counter(), time.process_time()
    phases: dict[str, float] = {}
    mark = time.process_time()
    index = LibraryIndex.build(day)
    phases["index_s"] = time.process_time() - mark
    mark = time.process_time()
    used = {k for lib in libraries for k in lib.papers}
    papers_in = {
        d.key: replace(d, terms=TermVector.from_json(json.loads(stored[d.key]))) for d in catalog if d.key in used
    }
    phases["load_terms_s"] = time.process_time() - mark
    stats: dict = {}
    mark = time.process_time()
    found = libraries_match(index, papers_in, libraries, stats=stats)
    phases["match_s"] = time.process_time() - mark
    mark = time.process_time()
    explained = sum(1 for _ in found)
    if materialise:
        explained = sum(len(found[key]) for key in found)
    phases["materialise_s"] = time.process_time() - mark
    seconds, cpu_seconds = time.perf_counter() - wall, time.process_time() - cpu
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sample_key = next(iter(found), None)
    sample = found[sample_key][0] if sample_key is not None else None
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "peak_mib": peak_mib,
        "pairs": found.pairs,
        "with_matches": len(found),
        "entries": entries,
        "distinct": distinct,
        "explained": explained,
        "stats": stats,
        "phases": phases,
        "sample": sample,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--papers", type=int, default=2_000)
    parser.add_argument("--catalog", type=int, default=20_000, help="distinct library papers to draw from")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--materialise", action="store_true", help="also build every LikeMatch record")
    parser.add_argument(
        "--neighbours", type=int, help=f"day's papers kept per library paper (default {similarity.NEIGHBOURS})"
    )
    args = parser.parse_args(argv)
    if args.neighbours:
        similarity.NEIGHBOURS = args.neighbours  # a what-if for the figures in PERFORMANCE.md
    if not Path(CORPUS).exists():
        print(f"corpus not found: {CORPUS}", file=sys.stderr)
        return 2
    r = run(
        subscribers=args.subscribers,
        papers=args.papers,
        catalog_size=args.catalog,
        seed=args.seed,
        materialise=args.materialise,
    )
    print(
        f"subscribers={args.subscribers} papers={args.papers} library entries={r['entries']}"
        f" (distinct papers {r['distinct']} of a {args.catalog}-paper catalog)"
    )
    print(f"neighbour pairs={r['stats'].get('neighbour_pairs')} libraries with matches={r['with_matches']}")
    if r["sample"] is not None:
        print(f"e.g. score {r['sample'].score:.3f}, {r['sample'].like[0].text}")
    phases = {**r["phases"], **{k: v for k, v in r["stats"].items() if k.endswith("_s")}}
    print("cpu seconds: " + " ".join(f"{k}={v:.2f}" for k, v in phases.items()))
    print(f"seconds={r['seconds']:.2f} (cpu {r['cpu_seconds']:.2f}) peak_mib={r['peak_mib']:.0f}")
    print(f"RESULT seconds={r['seconds']:.3f} peak_mib={r['peak_mib']:.1f} pairs={r['pairs']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
