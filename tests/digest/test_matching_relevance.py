"""Relevance over the shared corpus (283 real papers): hand-checked queries.

Each expectation was checked by reading the titles and abstracts: ``include`` papers are about the
query, ``exclude`` papers look close but must not come back.
"""

from __future__ import annotations

import json

import pytest

from digest.matching import PaperDoc, PaperIndex, Profile, match_profile, naive_match
from tests.conftest import CORPUS_PATH as CORPUS
from tests.conftest import shared_file


@pytest.fixture(scope="module")
def corpus() -> tuple[list[PaperDoc], PaperIndex]:
    with shared_file(CORPUS).open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    docs = [PaperDoc(i, r["title"], r["abstract"]) for i, r in enumerate(rows)]
    return docs, PaperIndex.build(docs)


CASES = [
    (
        "grokking",
        ["Grokking Tickets: Lottery Tickets Accelerate Grokking", "Deep Networks Always Grok and Here is Why"],
        ["Pointer Networks", "Critical Learning Periods Emerge Even in Deep Linear Networks"],
    ),
    (
        '"information bottleneck"',
        [
            "How Does Information Bottleneck Help Deep Learning?",
            "Cauchy-Schwarz Divergence Information Bottleneck for Regression",
        ],
        ["Discrete Key-Value Bottleneck", "Post-hoc Concept Bottleneck Models"],
    ),
    (
        '"concept bottleneck" -information',
        [
            "Post-hoc Concept Bottleneck Models",
            "Discover-then-Name: Task-Agnostic Concept Bottlenecks via Automated Concept Discovery",
        ],
        ["How Does Information Bottleneck Help Deep Learning?", "Discrete Key-Value Bottleneck"],
    ),
    (
        "title:diffusion",
        [
            "Diffusion in Diffusion: Cyclic One-Way Diffusion for Text-Vision-Conditioned Generation",
            "Toward effective protection against diffusion based mimicry through score distillation",
        ],
        ["Generative Modeling with Explicit Memory", "Inversion-Free Image Editing with Natural Language"],
    ),
    (
        "fine-tuning",
        [
            "Fine Tuning LLM for Enterprise: Practical Guidelines and Recommendations",
            "Overcoming the Pitfalls of Vision-Language Model Finetuning for OOD Generalization",
            "LEVI: Generalizable Fine-tuning via Layer-wise Ensemble of Different Views",
        ],
        ["Pointer Networks"],
    ),
    (
        "LLM",
        [
            "Effectively Compress KV Heads for LLM",
            "Balancing Cost and Effectiveness of Synthetic Data Generation Strategies for LLMs",
            "Read-ME: Refactorizing LLMs as Router-Decoupled Mixture of Experts with System Co-Design",
        ],
        ["Pointer Networks", "Symbolic Synthesis of Neural Networks"],
    ),
    (
        '"scaling laws"',
        [
            "Scaling Laws for Autoregressive Generative Modeling",
            "Kinetics: Rethinking Test-Time Scaling Laws",
            "Scaling Laws for Data Filtering -- Data Curation cannot be Compute Agnostic",
        ],
        ["Fast and Accurate Model Scaling", "Scaling MLPs: A Tale of Inductive Bias"],
    ),
    (
        "distillation -dataset",
        [
            "Self-Knowledge Distillation with Progressive Refinement of Targets",
            "HARD: Hard Augmentations for Robust Distillation",
        ],
        [
            "Efficient Dataset Distillation through Alignment with Smooth and High-Quality Expert Trajectories",
            "Breaking Class Barriers: Efficient Dataset Distillation via Inter-Class Feature Compensator",
        ],
    ),
    (
        '"graph neural networks"',
        ["Local Augmentation for Graph Neural Networks", "Learnable Commutative Monoids for Graph Neural Networks"],
        ["Pointer Networks", "Local Graph Clustering with Noisy Labels"],
    ),
    (
        '"data selection"',
        [
            "A Survey on Data Selection for Language Models",
            "TAROT: Targeted Data Selection via Optimal Transport",
            "ZIP-FIT: Embedding-Free Data Selection via Compression-Based Alignment",
        ],
        ["Generating Private Synthetic Data with Genetic Algorithms"],
    ),
    (
        '"mixture of experts"',
        [
            "Exploiting Inter-Layer Expert Affinity for Accelerating Mixture-of-Experts Model Inference",
            "A Mixture of Expert Approach for Low-Cost Customization of Deep Neural Networks",
        ],
        ["Glider: Global and Local Instruction-Driven Expert Router"],
    ),
    (
        "flash attention",
        [
            "FlashAttention-2: Faster Attention with Better Parallelism and Work Partitioning",
            "The I/O Complexity of Attention, or How Optimal is Flash Attention?",
        ],
        ["Generalized Neighborhood Attention: Multi-dimensional Sparse Attention at the Speed of Light"],
    ),
    (
        '"continual learning" -medical',
        [
            "Few-shot Continual Learning: a Brain-inspired Approach",
            "Does Continual Learning Equally Forget All Parameters?",
        ],
        ["Towards General Purpose Medical AI: Continual Learning Medical Foundation Model"],
    ),
    (
        "title:tabular",
        [
            "TabReD: A Benchmark of Tabular Machine Learning in-the-Wild",
            "ExcelFormer: Can a DNN be a Sure Bet for Tabular Prediction?",
        ],
        ["Deep Interest Network for Click-Through Rate Prediction"],
    ),
    (
        '"federated learning"',
        [
            "Improving the Model Consistency of Decentralized Federated Learning",
            "FRAug: Tackling Federated Learning with Non-IID Features via Representation Augmentation",
        ],
        ["Challenging the Need for Packet Spraying in Large-Scale Distributed Training"],
    ),
    (
        'quantization "vision transformers"',
        ["Oscillation-free Quantization for Low-bit Vision Transformers"],
        ["Dissecting Bit-Level Scaling Laws in Quantizing Vision Generative Models"],
    ),
    (
        '"in-context learning"',
        [
            "General-Purpose In-Context Learning by Meta-Learning Transformers",
            "Efficient Prompting via Dynamic In-Context Learning",
        ],
        ["Meta-training with Demonstration Retrieval for Efficient Few-shot Learning"],
    ),
    (
        "transformer",
        ["Part-Aware Transformer for Generalizable Person Re-identification"],
        [
            "Symbolic Synthesis of Neural Networks",
            "FRAug: Tackling Federated Learning with Non-IID Features via Representation Augmentation",
        ],
    ),
    (
        "NeRF",
        [
            "VQ-NeRF: Vector Quantization Enhances Implicit Neural Representations",
            "FlipNeRF: Flipped Reflection Rays for Few-shot Novel View Synthesis",
        ],
        ["Relightable Full-Body Gaussian Codec Avatars"],
    ),
]


@pytest.mark.parametrize(("query", "include", "exclude"), CASES, ids=[c[0] for c in CASES])
def test_corpus_query_finds_the_right_papers(corpus, query, include, exclude):
    docs, index = corpus
    profile = Profile(1, (query,), limit=300)
    matches = match_profile(index, profile)
    titles = [docs[m.paper_key].title for m in matches]
    for title in include:
        assert title in titles, f"{query!r} should find {title!r}"
    for title in exclude:
        assert title not in titles, f"{query!r} should not find {title!r}"
    assert naive_match(docs, profile) == {m.paper_key for m in matches}


@pytest.mark.parametrize(
    ("query", "best"),
    [
        ("grokking", "Grokking Tickets: Lottery Tickets Accelerate Grokking"),
        ('"information bottleneck"', "How Does Information Bottleneck Help Deep Learning?"),
        ("quantization vision transformers", "Oscillation-free Quantization for Low-bit Vision Transformers"),
        ('"data selection"', "A Survey on Data Selection for Language Models"),
    ],
)
def test_the_paper_about_the_query_ranks_first(corpus, query, best):
    docs, index = corpus
    first = match_profile(index, Profile(1, (query,), limit=1))[0]
    assert docs[first.paper_key].title == best


def test_the_snippet_shows_the_query_words_of_a_corpus_paper(corpus):
    _, index = corpus
    match = match_profile(index, Profile(1, ('"delayed generalization"',), limit=1))[0]
    assert [match.snippet[a:b].lower() for a, b in match.snippet_spans][:1] == ["delayed generalization"]
