"""British and American spellings of the same word, from a maintained list (never suffix rules).

The list is the ``breame`` package's (British -> American, with inflections: ``optimisation`` ->
``optimization``, ``behaviours`` -> ``behaviors``, ``modelling`` -> ``modeling``), plus the
machine-learning words it lacks (``tokenisation``, ``optimiser``, ``initialisation`` ...), written
out below, minus a few pairs whose American form is a different everyday word.  A word that is on
neither list is left alone: ``precise`` is never ``precize``, ``transformer`` never
``transformation``.

:func:`spelling_table` turns the word pairs into a table on *stems* (the plural-folded forms the
index stores), so that ``normalize.stem`` can map every British stem to its American one: the
index, the query parser, the highlighter and the naive matcher all go through ``stem``, so both
spellings are one stem everywhere, in both directions, at no cost per query.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from breame.data.spelling_constants import BRITISH_ENGLISH_SPELLINGS

# -ise verbs of the field that breame lacks some or all forms of.  Each family below is written out
# to these endings (a family's listed words only: "precise" is not a family and never gets one).
_ISE_FAMILIES = (
    "anonymis",
    "authoris",
    "binaris",
    "categoris",
    "centralis",
    "characteris",
    "contextualis",
    "conceptualis",
    "customis",
    "decentralis",
    "digitis",
    "discretis",
    "factoris",
    "featuris",
    "generalis",
    "initialis",
    "lemmatis",
    "linearis",
    "localis",
    "marginalis",
    "maximis",
    "memoris",
    "minimis",
    "modularis",
    "normalis",
    "operationalis",
    "optimis",
    "parallelis",
    "parameteris",
    "parametris",
    "penalis",
    "personalis",
    "prioritis",
    "quantis",
    "randomis",
    "regularis",
    "sanitis",
    "serialis",
    "specialis",
    "standardis",
    "summaris",
    "tokenis",
    "utilis",
    "vectoris",
    "visualis",
)
_ISE_ENDINGS = ("e", "ed", "es", "ing", "ation", "ations", "er", "ers")
_EXTRA = {
    "analyser": "analyzer",
    "analysers": "analyzers",
    "catalyse": "catalyze",
    "catalysed": "catalyzed",
    "catalyses": "catalyzes",
    "catalysing": "catalyzing",
}
# breame pairs left out: the American form is a different everyday word ("tire" = to tire).
_DENY = frozenset({"tyre", "tyres", "draught", "draughts"})


def british_to_american() -> dict[str, str]:
    """Every British word form -> its American form (lower case)."""
    pairs = {b: a for b, a in BRITISH_ENGLISH_SPELLINGS.items() if b not in _DENY and " " not in b}
    for family in _ISE_FAMILIES:
        for ending in _ISE_ENDINGS:
            pairs.setdefault(family + ending, family[:-1] + "z" + ending)
    for british, american in _EXTRA.items():
        pairs.setdefault(british, american)
    return pairs


def spelling_table(plural_stem: Callable[[str], str], irregular: Mapping[str, str]) -> dict[str, str]:
    """British stem -> American stem, for the pairs whose two forms fold the same way.

    ``plural_stem`` is the plural/possessive folding; a pair where either word is an irregular
    plural is left out ("analyses" is the plural of "analysis", not the verb "analyzes").  A stem
    that would map to two different stems is left out too (never seen in the lists; a test checks).
    """
    table: dict[str, str] = {}
    clashes: set[str] = set()
    for british, american in british_to_american().items():
        if british in irregular or american in irregular:
            continue
        b, a = plural_stem(british), plural_stem(american)
        if b == a:
            continue
        if table.setdefault(b, a) != a:
            clashes.add(b)
    for b in clashes:
        del table[b]
    return table
