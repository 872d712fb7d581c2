"""What "papers like these" returns for many libraries: arrays, turned into records when read."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from .records import LikeMatch, Resemblance


class LibraryMatches(Mapping[int, list[LikeMatch]]):
    """Each library's matches, best first, kept as arrays and turned into records when read
    (a hundred thousand libraries' matches as objects would cost more than finding them)."""

    def __init__(
        self,
        *,
        library_keys: Sequence[int],
        starts: dict[int, tuple[int, int]],
        papers: np.ndarray,
        scores: np.ndarray,
        first: np.ndarray,
        first_sim: np.ndarray,
        second: np.ndarray,
        second_sim: np.ndarray,
        seed_keys: Sequence[str],
        seed_titles: Sequence[str],
    ) -> None:
        self._keys = list(library_keys)
        self._starts = starts
        self._papers, self._scores = papers, scores
        self._first, self._first_sim, self._second, self._second_sim = first, first_sim, second, second_sim
        self._seed_keys, self._seed_titles = seed_keys, seed_titles

    def __getitem__(self, key: int) -> list[LikeMatch]:
        start, end = self._starts[key]
        return [self._match(i) for i in range(start, end)]

    def _match(self, i: int) -> LikeMatch:
        if self._first[i] < 0:  # not explained (see Library.shown)
            return LikeMatch(paper_key=int(self._papers[i]), score=float(self._scores[i]), like=())
        like = [self._resemblance(int(self._first[i]), float(self._first_sim[i]))]
        if self._second[i] >= 0:
            like.append(self._resemblance(int(self._second[i]), float(self._second_sim[i])))
        return LikeMatch(paper_key=int(self._papers[i]), score=float(self._scores[i]), like=tuple(like))

    def _resemblance(self, seed: int, similarity: float) -> Resemblance:
        return Resemblance(key=self._seed_keys[seed], title=self._seed_titles[seed], similarity=round(similarity, 4))

    def __iter__(self) -> Iterator[int]:
        return (key for key in self._keys if key in self._starts)

    def __len__(self) -> int:
        return len(self._starts)

    @property
    def pairs(self) -> int:
        return len(self._papers)
