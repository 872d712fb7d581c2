"""Digest emails for the email tests, the screenshots and the golden files.

The papers here are invented for Paperboy's tests (not copied from the shared corpus); tests that want real
abstracts read the corpus at run time through :func:`corpus_email`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import date
from pathlib import Path

from digest.email import DigestEmail, DigestItem, DigestLinks

DIGEST_DATE = date(2026, 11, 27)

LINKS = DigestLinks(
    unsubscribe_url="https://paperboy.example/u/eyJzIjo0Mn0:1tXyZa:Q2Fs-dQ3k_Zx/",
    manage_url="https://paperboy.example/preferences/",
    view_url="https://paperboy.example/d/eyJzIjo0MiwiZCI6eyJkIjo3fX0:1tXyZa:VmlldyBt_Lw/",
)

# (title, authors, categories, upvotes, hugging face?, abstract)
SAMPLE_PAPERS = (
    (
        "Sparse Diffusion Transformers for Minute-Long Video Generation",
        ("Ada Lovelace", "Grace Hopper", "Katherine Johnson", "Alan Turing", "Edsger Dijkstra"),
        ("cs.CV", "cs.LG"),
        128,
        True,
        "We present a diffusion model for video generation that keeps only the attention blocks that matter. "
        "A learned router sends each space-time patch to a small set of experts, which cuts the cost of "
        "sampling a one-minute clip by a factor of six while matching the quality of dense diffusion "
        "transformers on three public benchmarks.",
    ),
    (
        "Reasoning Traces Are Not Explanations: Auditing Chain-of-Thought in LLMs",
        ("Barbara Liskov", "Donald Knuth"),
        ("cs.CL", "cs.AI"),
        None,
        False,
        "Large language models often write out a chain of thought before answering. We ask whether that "
        "written reasoning actually drives the answer. Across 14 models and 9 tasks, editing the trace "
        "changes the final answer in only 31% of cases, which suggests the traces are often post-hoc.",
    ),
    (
        "Consistency Distillation for One-Step Diffusion Policies in Robot Manipulation",
        ("Radia Perlman", "Frances Allen", "John Backus"),
        ("cs.RO", "cs.LG"),
        7,
        True,
        "Diffusion policies control robots well but need dozens of denoising steps per action. We distill "
        "them into a single step with a consistency objective and keep 96% of the success rate on a suite "
        "of 20 real-world manipulation tasks, at a control rate of 50 Hz on a laptop GPU.",
    ),
    (
        "Tokenizer-Free Language Models at Scale",
        ("Leslie Lamport", "Shafi Goldwasser", "Silvio Micali", "Judea Pearl"),
        ("cs.CL",),
        42,
        True,
        "Byte-level language models avoid the pitfalls of subword tokenizers but have been too slow to train "
        "at scale. A hierarchical patching scheme lets our 7B byte model match a tokenized baseline on "
        "reasoning benchmarks while being more robust to spelling noise and rare scripts.",
    ),
    (
        "A Benchmark for Long-Horizon Video Understanding",
        ("Margaret Hamilton",),
        ("cs.CV",),
        None,
        False,
        "Existing video question answering benchmarks can be solved from a handful of frames. We collect "
        "2,400 questions about hour-long videos whose answers need evidence from at least three distant "
        "moments, and find that current video language models fall to near chance.",
    ),
    (
        "Score Matching on Manifolds with Learned Charts",
        ("Sophie Wilson", "Steve Furber"),
        ("stat.ML", "cs.LG", "math.DG"),
        3,
        False,
        "Diffusion models assume data live in Euclidean space. We learn an atlas of local charts and run "
        "score matching in each, which gives a diffusion model for data on curved manifolds such as "
        "protein backbones and climate fields, with sharper samples than projection-based methods.",
    ),
)


def action_url(subscriber: int, paper_key: int, action: str) -> str:
    """A stand-in for a signed feedback link, as long as a real one (~150 characters)."""
    payload = base64.urlsafe_b64encode(f'{{"s":{subscriber},"p":{paper_key},"a":"{action}"}}'.encode()).decode()
    signature = base64.urlsafe_b64encode(hashlib.sha256(payload.encode()).digest() * 2).decode()[:64]
    return f"https://paperboy.example/f/{payload.rstrip('=')}:1tXyZa:{signature}/"


def actions_for(subscriber: int, paper_key: int, *, term: str, author: str) -> tuple[tuple[str, str], ...]:
    """The four feedback links a card carries: more, less, mute a matched word, follow an author."""
    return (
        ("More like this", action_url(subscriber, paper_key, "more")),
        ("Less like this", action_url(subscriber, paper_key, "less")),
        (f'Mute "{term}"', action_url(subscriber, paper_key, f"mute:{term}")),
        (f"Follow {author}", action_url(subscriber, paper_key, f"follow:{author}")),
    )


def spans_for(text: str, terms: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    """[start, end) spans of whole-word, case-insensitive hits (a stand-in for the matching engine)."""
    spans = [
        (m.start(), m.end()) for term in terms for m in re.finditer(rf"\b{re.escape(term)}s?\b", text, re.IGNORECASE)
    ]
    return tuple(sorted(spans))


def item_make(
    n: int,
    title: str,
    abstract: str,
    *,
    terms: tuple[str, ...],
    interests: tuple[str, ...],
    authors: tuple[str, ...] = ("A. Author",),
    categories: tuple[str, ...] = ("cs.LG",),
    popularity: int | None = None,
    hf: bool = False,
    snippet_chars: int = 360,
    **fields,
) -> DigestItem:
    snippet = abstract[:snippet_chars]
    arxiv_id = f"2611.{n:05d}"
    return DigestItem(
        paper_key=n,
        title=title,
        url=f"https://arxiv.org/abs/{arxiv_id}",
        pdf_url=f"https://arxiv.org/pdf/{arxiv_id}",
        hf_url=f"https://huggingface.co/papers/{arxiv_id}" if hf else "",
        authors=authors,
        categories=categories,
        popularity=popularity,
        snippet=snippet,
        title_spans=spans_for(title, terms),
        snippet_spans=spans_for(snippet, terms),
        matched_terms=terms,
        interests=interests,
        **fields,
    )


def ada_email(**overrides) -> DigestEmail:
    """Ada follows diffusion and video generation; today four sample papers match."""
    interest_terms = {"diffusion": ("diffusion",), "video generation": ("video generation", "video")}
    items = []
    for n, (title, authors, categories, upvotes, hf, abstract) in enumerate(SAMPLE_PAPERS, start=1):
        hit = tuple(i for i, terms in interest_terms.items() if any(spans_for(title + " " + abstract, terms)))
        if not hit:
            continue
        terms = tuple(t for i in hit for t in interest_terms[i])
        items.append(
            item_make(
                n,
                title,
                abstract,
                terms=terms,
                interests=hit,
                authors=authors,
                categories=categories,
                popularity=upvotes,
                hf=hf,
                actions=actions_for(42, n, term=terms[0], author=authors[0]),
            )
        )
    fields = {
        "recipient": "ada@example.org",
        "digest_date": DIGEST_DATE,
        "items": tuple(items),
        "interests": ("diffusion", "video generation", "protein design"),
        "links": LINKS,
        "message_id": "<digest.2026-11-27.42@paperboy.example>",
    }
    fields.update(overrides)
    return DigestEmail(**fields)


# Ada's quiet day: nothing matched; the nearest misses, each with the interest that almost matched.
QUIET_MISSES = (
    (2, 'Almost matched "chain of thought faithfulness": no "faithfulness"', ("chain of thought",)),
    (6, 'Almost matched "protein design": no "design"', ("protein",)),
    (5, 'Almost matched "diffusion video": no "diffusion"', ("video",)),
)


def quiet_email(**overrides) -> DigestEmail:
    """Ada asked for a note on quiet days; today nothing matched, three papers came close."""
    items = []
    for n, near_miss, terms in QUIET_MISSES:
        title, authors, categories, upvotes, hf, abstract = SAMPLE_PAPERS[n - 1]
        items.append(
            item_make(
                n,
                title,
                abstract,
                terms=terms,
                interests=(),
                authors=authors,
                categories=categories,
                popularity=upvotes,
                hf=hf,
                near_miss=near_miss,
                actions=actions_for(42, n, term=terms[0], author=authors[0]),
            )
        )
    fields = {
        "recipient": "ada@example.org",
        "digest_date": DIGEST_DATE,
        "items": tuple(items),
        "interests": ("diffusion video", "protein design", "chain of thought faithfulness"),
        "links": LINKS,
        "message_id": "<quiet.2026-11-27.42@paperboy.example>",
        "kind": "quiet",
    }
    fields.update(overrides)
    return DigestEmail(**fields)


def corpus_papers(corpus_path: Path) -> list[dict]:
    with corpus_path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def corpus_email(
    corpus_path: Path,
    *,
    count: int,
    start: int = 0,
    snippet_chars: int = 360,
    suggest_last: bool = False,
    with_actions: bool = False,
) -> DigestEmail:
    """A digest of ``count`` real papers from the shared corpus, highlighted on a few common words.

    What a paper shows (authors, categories, upvotes) depends on the paper only, as in real life.
    """
    terms = ("model", "language", "learning", "diffusion", "reasoning")
    papers = corpus_papers(corpus_path)[start : start + count]
    authors = ("Ada Lovelace", "Grace Hopper", "Katherine Johnson", "Alan Turing", "Émile Borel")
    items = tuple(
        item_make(
            k,
            p["title"],
            p["abstract"],
            terms=terms,
            interests=tuple(t for t in terms if spans_for(p["title"] + " " + p["abstract"], (t,))) or ("model",),
            authors=authors[: 1 + k % 5],
            categories=("cs.LG", "cs.CL", "cs.CV")[: 1 + k % 3],
            popularity=(k * 7) if k % 2 else None,
            hf=bool(k % 3),
            snippet_chars=snippet_chars,
            suggested=suggest_last and k == start + count - 1,
            actions=actions_for(7, k, term=terms[k % 5], author=authors[0]) if with_actions else (),
        )
        for k, p in enumerate(papers, start=start)
    )
    return DigestEmail(
        recipient="bo@example.org",
        digest_date=DIGEST_DATE,
        items=items,
        interests=terms,
        links=LINKS,
        message_id="<digest.2026-11-27.7@paperboy.example>",
    )


# Issue 19. Tess chose trending papers in language and vision: no interests, ranked by upvotes.
TRENDING = ((2, 212, 1), (4, 128, 2), (1, 96, 3))  # (sample paper, upvotes, place on the day's list)


def trending_item(n: int, upvotes: int, rank: int, **fields) -> DigestItem:
    title, authors, categories, _upvotes, _hf, abstract = SAMPLE_PAPERS[n - 1]
    return item_make(
        n,
        title,
        abstract,
        terms=(),
        interests=(),
        authors=authors,
        categories=categories,
        popularity=upvotes,
        hf=True,
        trending_rank=rank,
        **fields,
    )


def trending_email(**overrides) -> DigestEmail:
    """Tess's trending digest: the day's most upvoted papers in cs.CL and cs.CV, each saying why."""
    fields = {
        "recipient": "tess@example.org",
        "digest_date": DIGEST_DATE,
        "items": tuple(trending_item(n, upvotes, rank) for n, upvotes, rank in TRENDING),
        "interests": ("cs.CL", "cs.CV"),
        "links": LINKS,
        "message_id": "<trending.2026-11-27.43@paperboy.example>",
        "kind": "trending",
    }
    fields.update(overrides)
    return DigestEmail(**fields)


def ada_with_trending_email(**overrides) -> DigestEmail:
    """Ada's digest with the "Trending today" section on: her matches, then two trending papers they didn't bring."""
    mine = ada_email().items
    taken = {item.paper_key for item in mine}
    section = tuple(trending_item(n, upvotes, rank) for n, upvotes, rank in TRENDING if n not in taken)[:2]
    return ada_email(items=mine + section, **overrides)
