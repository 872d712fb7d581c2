"""Acronyms and their long forms: learned from the papers (Schwartz-Hearst), plus a curated list.

An interest written as an acronym also finds the papers that only spell it out, and the other way
round: ``LLM`` ~ "large language model", ``MoE`` ~ "mixture of experts", in phrases and with
``title:`` too (``index.py`` and ``naive.py`` look for every alternative :meth:`AcronymTable.alternatives`
gives a term; ``query.py`` lets bare words that spell a long form out match the acronym).

Where the pairs come from
    :func:`find_definitions` is the Schwartz-Hearst algorithm (A. Schwartz and M. Hearst, "A simple
    algorithm for identifying abbreviation definitions in biomedical text", PSB 2003): a short form
    in parentheses after its long form ("Large Language Models (LLMs)"), or the other way round; the
    long form is the shortest run of words before it whose letters contain the short form's in
    order, the first one starting a word.  Each paper is read once (its pairs are cached), and
    :meth:`AcronymTable.from_docs` counts, per acronym, how many papers define it each way (its
    *support*).  A small curated list adds the field's most common pairs, so ``RL`` works on a day
    no paper defines it.

Which long forms an acronym stands for
    Only the ones with clear support: at least ``MIN_SUPPORT`` papers and at least ``CLEAR_SHARE``
    of all the definitions of that acronym (a curated long form counts ``CURATED_SUPPORT`` papers
    and is always kept).  "RL" defined as "reinforcement learning" by 30 papers and as
    "representation learning" by 2 means reinforcement learning only.  Learned acronyms must look
    like acronyms (two capitals or more: ``LLM``, ``MoE``, ``ViT``) and not be an everyday word
    (``ALL``, ``CAT``), since a paper's acronym is matched whatever its case.

Exactness
    ``=LLM`` (the query's exact-word syntax) asks for the word alone; see ``query.py``.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from .normalize import fold, stem, stems, tokens

MIN_SUPPORT = 2  # papers defining an acronym this way, for a learned pair to count
CLEAR_SHARE = 0.25  # of all the definitions of the acronym
CURATED_SUPPORT = 3  # what a curated long form counts for, against learned competitors
MAX_ALTERNATIVES = 16  # per term: bounds the work for a phrase with several acronyms in it

# The field's most common pairs (short form as written, long forms).
CURATED: dict[str, tuple[str, ...]] = {
    "LLM": ("large language model",),
    "MLLM": ("multimodal large language model",),
    "VLM": ("vision-language model",),
    "MoE": ("mixture of experts",),
    "RL": ("reinforcement learning",),
    "RLHF": ("reinforcement learning from human feedback",),
    "NLP": ("natural language processing",),
    "GNN": ("graph neural network",),
    "CNN": ("convolutional neural network",),
    "RNN": ("recurrent neural network",),
    "GAN": ("generative adversarial network",),
    "VAE": ("variational autoencoder",),
    "ViT": ("vision transformer",),
    "LSTM": ("long short-term memory",),
    "RAG": ("retrieval-augmented generation",),
    "CoT": ("chain of thought",),
    "ICL": ("in-context learning",),
    "LoRA": ("low-rank adaptation",),
    "PEFT": ("parameter-efficient fine-tuning",),
    "SFT": ("supervised fine-tuning",),
    "DPO": ("direct preference optimization",),
    "PPO": ("proximal policy optimization",),
    "SGD": ("stochastic gradient descent",),
    "MLP": ("multilayer perceptron",),
    "NeRF": ("neural radiance field",),
    "ASR": ("automatic speech recognition",),
    "OCR": ("optical character recognition",),
    "VQA": ("visual question answering",),
}

# Everyday words that a paper may write in capitals as an acronym: never learned as one.
_EVERYDAY_WORDS = """a an and any are as at be but by can do for from go he her him his how if in is it its me my no
    not of on one or our out so the to up us was we who why you all cat dog man men map set sun top
    war win new now may art act age aid aim air ask bad bag bed big bit box boy car cut day die eye
    far fit fix fly fun gap get god gun hat hit hot ice job key kid law lay leg let lie lot low mix
    net odd oil old own pay pen per pet pop put ran raw red run sad saw say sea see she sit six sky
    son ten tie tip toe id try two use via way web wet yes yet zoo also back best body book call care
    case cell code come cost data deep done down each easy edge even face fact fair fast file fill
    find fine fire five flow food form four free full game gate give goal good grid half hand hard
    have head help here high hold home hope idea into item just keep kind know land last lead left
    less life like line link list live load long look loss love made main make many mark mass mean
    meta mind mode more most move much must name near need next nice node none note only open over
    pair part pass past path peak plan play plot pool port post pull push rank rate read real rest
    rich ride ring rise road role room rule safe same save scan seed seem self send ship shot show
    side sign size slow soft some sort spot star step stop such sure take talk task team tell term
    test text than that them then they thin this time tool tree true turn type unit upon used user
    very view wait walk wall want ward warm wave weak well were what when whom wide will wind wise
    with word work year your zero
    """
_WORDS = frozenset(_EVERYDAY_WORDS.split())
_PAREN_RE = re.compile(r"\(([^()]*)\)")
_SENTENCE_END_RE = re.compile(r"[.!?]\s+(?=[A-Z(])")
_WINDOW = 300  # characters before a parenthesis where its long form may start (15 words at most)


def _valid_short_form(short: str) -> bool:
    """Schwartz-Hearst's conditions on a short form: 2-10 characters, at most two words, a letter,
    starting with a letter or digit."""
    return 2 <= len(short) <= 10 and len(short.split()) <= 2 and any(c.isalpha() for c in short) and short[0].isalnum()


def best_long_form(short: str, long: str) -> str | None:
    """Schwartz-Hearst's findBestLongForm: the shortest end of ``long`` that contains the letters
    and digits of ``short`` in order, the first of them at the start of a word; None if none does."""
    short, lowered = short.lower(), long.lower()
    s_index = len(short) - 1
    l_index = len(long) - 1
    while s_index >= 0:
        c = short[s_index]
        if not c.isalnum():
            s_index -= 1
            continue
        while (l_index >= 0 and lowered[l_index] != c) or (
            s_index == 0 and l_index > 0 and lowered[l_index - 1].isalnum()
        ):
            l_index -= 1
        if l_index < 0:
            return None
        l_index -= 1
        s_index -= 1
    start = long.rfind(" ", 0, l_index + 1) + 1
    return long[start:]


def _definition(short: str, before: str) -> tuple[str, str] | None:
    """(short, long) if the words in ``before`` end with a long form of ``short``."""
    short = short.strip()
    if not _valid_short_form(short):
        return None
    max_words = min(len(short) + 5, len(short) * 2)
    words = before.split()[-max_words:]
    if not words:
        return None
    long = best_long_form(short, " ".join(words))
    if long is None:
        return None
    long_words = long.split()
    if len(long) <= len(short) or short.lower() in (w.lower() for w in long_words):
        return None
    if len(long_words) > max_words:
        return None
    return short, long


def find_definitions(text: str) -> list[tuple[str, str]]:
    """Schwartz-Hearst over one text: every (short form, long form) it defines, in order.

    Both patterns of the paper: "long form (short form)" and "short form (long form)" (the latter
    when the parentheses hold more than two words).  Text after a ';' or ',' inside the parentheses
    is ignored ("(LLMs; e.g. GPT-4)").
    """
    found: list[tuple[str, str]] = []
    for m in _PAREN_RE.finditer(text):
        inside = re.split(r"[;,]", m.group(1), maxsplit=1)[0].strip()
        before = _sentence_before(text, m.start())
        if not inside or not before:
            continue
        if len(inside.split()) <= 2:
            pair = _definition(inside, before)
        else:  # "short form (long form)": the short form is the word just before
            short = before.split()[-1].strip("\"'")
            pair = _definition(short, inside) if len(inside.split()) > 1 else None
        if pair is not None:
            found.append(pair)
    return found


def _sentence_before(text: str, end: int) -> str:
    """The words of the sentence before ``end`` (at most _WINDOW characters of them, whole words)."""
    start = max(0, end - _WINDOW)
    before = text[start:end]
    last_end = None
    for m in _SENTENCE_END_RE.finditer(before):
        last_end = m.end()
    if last_end is not None:
        before = before[last_end:]
    elif start > 0:  # drop the word the window cut in two
        before = before[before.find(" ") + 1 :] if " " in before else ""
    return before.rstrip()


@dataclass(frozen=True, slots=True)
class _Pair:
    """One definition in acronym-table terms: the acronym's stem and the long form's stems."""

    acronym: str
    long: tuple[str, ...]
    short_text: str
    long_text: str


def _as_pair(short: str, long: str, *, learned: bool) -> _Pair | None:
    """The pair as stems, or None when it is not one the table should hold."""
    short_tokens = tokens(short)
    long_tokens = tokens(long)
    if len(short_tokens) != 1 or not long_tokens:
        return None
    acronym = stem(short_tokens[0])
    long_stems = tuple(stem(t) for t in long_tokens)
    if learned:
        capitals = sum(c.isupper() for c in short)
        if capitals < 2 or acronym in _WORDS or acronym.isdigit() or len(long_stems) < 2:
            return None
    if acronym in long_stems:
        return None
    # "LLMs" is shown as "LLM" (the stem without its plural s), "MoE" as written.
    shown = short[:-1] if short.endswith("s") and fold(short[:-1]) == acronym else short
    return _Pair(acronym, long_stems, shown, " ".join(long.split()))


# Each paper's definitions, by its text: a paper is read once however many indexes it is part of.
_PAPER_PAIRS: dict[tuple[str, str], tuple[_Pair, ...]] = {}
_PAPER_PAIRS_MAX = 20_000


def paper_definitions(title: str, abstract: str) -> tuple[_Pair, ...]:
    """The acronym pairs one paper defines (each once), cached."""
    key = (title, abstract)
    found = _PAPER_PAIRS.get(key)
    if found is None:
        pairs = (_as_pair(s, lf, learned=True) for s, lf in find_definitions(title + ".\n" + abstract))
        found = tuple({(p.acronym, p.long): p for p in pairs if p is not None}.values())
        if len(_PAPER_PAIRS) >= _PAPER_PAIRS_MAX:
            _PAPER_PAIRS.clear()  # simple and bounded; the next builds refill it
        _PAPER_PAIRS[key] = found
    return found


@dataclass(frozen=True, slots=True)
class Substitution:
    """One replacement in an alternative: ``written`` (as the query has it) found as ``found``."""

    written: str
    found: str


@dataclass
class AcronymTable:
    """Acronym <-> long forms for one batch of papers (see the module docstring)."""

    # acronym stem -> long form stems -> papers defining it so (learned, before any filtering)
    support: dict[str, Counter[tuple[str, ...]]] = field(default_factory=dict)
    # acronym stem -> the long forms it stands for (clear support or curated)
    expansions: dict[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict)
    # first stem of a long form -> (long form, acronym stem) pairs
    contractions: dict[str, list[tuple[tuple[str, ...], str]]] = field(default_factory=dict)
    # how to show an acronym (its stem) or a long form (its stems) in an explanation
    labels: dict[str | tuple[str, ...], str] = field(default_factory=dict)
    _cache: dict[tuple[str, ...], tuple[tuple[tuple[str, ...], tuple[Substitution, ...]], ...]] = field(
        default_factory=dict, repr=False
    )

    @classmethod
    def from_docs(cls, docs: Iterable, *, curated: dict[str, tuple[str, ...]] | None = None) -> AcronymTable:
        """The table of a batch of papers (anything with ``title`` and ``abstract``)."""
        support: dict[str, Counter[tuple[str, ...]]] = defaultdict(Counter)
        shown: dict[str | tuple[str, ...], Counter[str]] = defaultdict(Counter)
        for doc in docs:
            for pair in paper_definitions(doc.title, doc.abstract):
                support[pair.acronym][pair.long] += 1
                shown[pair.acronym][pair.short_text] += 1
                shown[pair.long][pair.long_text.lower()] += 1
        return cls.from_counts(support, shown, CURATED if curated is None else curated)

    @classmethod
    def from_counts(
        cls,
        support: dict[str, Counter[tuple[str, ...]]],
        shown: dict[str | tuple[str, ...], Counter[str]],
        curated: dict[str, tuple[str, ...]],
    ) -> AcronymTable:
        """Keep, per acronym, the long forms with clear support (see the module docstring)."""
        table = cls(support=dict(support))
        curated_forms: dict[str, set[tuple[str, ...]]] = defaultdict(set)
        for short, long_texts in curated.items():
            for long_text in long_texts:
                pair = _as_pair(short, long_text, learned=False)
                if pair is None:
                    raise ValueError(f"curated acronym {short!r} -> {long_text!r} is not a usable pair")
                curated_forms[pair.acronym].add(pair.long)
                table.labels.setdefault(pair.acronym, short)
                table.labels.setdefault(pair.long, long_text)
        for label_key, written in shown.items():
            if label_key not in table.labels:
                # The singular if the papers write it so, then the most common way of writing it, ties
                # broken alphabetically (deterministic): "concept bottleneck model", not "... models".
                table.labels[label_key] = min(
                    written.items(), key=lambda kv: (tuple(tokens(kv[0])) != label_key, -kv[1], kv[0])
                )[0]
        for acronym in sorted(set(support) | set(curated_forms)):
            counts: Counter[tuple[str, ...]] = Counter(support.get(acronym, Counter()))
            for long in curated_forms.get(acronym, ()):
                counts[long] += CURATED_SUPPORT
            total = sum(counts.values())
            kept = sorted(
                long
                for long, n in counts.items()
                if long in curated_forms.get(acronym, ()) or (n >= MIN_SUPPORT and n >= CLEAR_SHARE * total)
            )
            if kept:
                table.expansions[acronym] = tuple(kept)
                for long in kept:
                    table.contractions.setdefault(long[0], []).append((long, acronym))
        return table

    def alternatives(self, unit: tuple[str, ...]) -> tuple[tuple[tuple[str, ...], tuple[Substitution, ...]], ...]:
        """The other ways of writing a phrase of stems: each acronym in it spelt out, each long form
        in it abbreviated (alone or together), with the substitutions made.  The phrase itself is
        not included."""
        found = self._cache.get(unit)
        if found is None:
            out: list[tuple[tuple[str, ...], tuple[Substitution, ...]]] = []
            self._walk(unit, 0, (), (), out)
            found = tuple(out)
            self._cache[unit] = found
        return found

    def _walk(
        self,
        unit: tuple[str, ...],
        i: int,
        done: tuple[str, ...],
        subs: tuple[Substitution, ...],
        out: list,
    ) -> None:
        if len(out) >= MAX_ALTERNATIVES:
            return
        if i == len(unit):
            if subs:
                out.append((done, subs))
            return
        word = unit[i]
        self._walk(unit, i + 1, (*done, word), subs, out)
        for long in self.expansions.get(word, ()):
            sub = Substitution(self.labels.get(word, word.upper()), self.labels.get(long, " ".join(long)))
            self._walk(unit, i + 1, done + long, (*subs, sub), out)
        for long, acronym in self.contractions.get(word, ()):
            if unit[i : i + len(long)] == long:
                sub = Substitution(self.labels.get(long, " ".join(long)), self.labels.get(acronym, acronym.upper()))
                self._walk(unit, i + len(long), (*done, acronym), (*subs, sub), out)

    def long_forms_in(self, stems: tuple[str, ...]) -> list[tuple[int, int]]:
        """[start, end) runs of ``stems`` that are a long form this table abbreviates."""
        runs = []
        for i, word in enumerate(stems):
            for long, _ in self.contractions.get(word, ()):
                if stems[i : i + len(long)] == long:
                    runs.append((i, i + len(long)))
        return runs


def describe(text: str, subs: tuple[Substitution, ...]) -> str:
    """How a term matched through acronyms: "LLM, as 'large language model'", or for a longer
    phrase "efficient LLM inference, with LLM as 'large language model'"."""
    if len(subs) == 1 and stems(subs[0].written) == stems(text):  # the whole term ("LLMs" ~ "LLM")
        return f"{text}, as '{subs[0].found}'"
    return f"{text}, with " + " and ".join(f"{s.written} as '{s.found}'" for s in subs)
