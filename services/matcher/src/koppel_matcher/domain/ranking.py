"""The ranked result of one index query, with evaluations rendered on demand."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any, NamedTuple, overload

import numpy as np
import numpy.typing as npt

from koppel_matcher.domain import rendering
from koppel_matcher.domain.freed_capacity import freed_parts, freed_reason
from koppel_matcher.domain.model import CommitmentSpec, Evaluation, ProfileSpec
from koppel_matcher.domain.scoring import COMPONENTS, LANGUAGES

Match = tuple[str, Evaluation]
Scored = tuple[str, float, tuple[str, ...]]


class Freed(NamedTuple):
    """The commitment whose end leaves a match the room it needs, and the hours then free."""

    commitment: CommitmentSpec
    hours_free: int


def freed_matches(
    states: npt.NDArray[np.int64], ids: list[str], profile_of: Callable[[str], ProfileSpec]
) -> dict[int, Freed]:
    """Position → `Freed` for the matches whose `freed_capacity.freed_state` is set."""
    positions = np.flatnonzero(states)
    if not positions.size:
        return {}
    entries, hours_free = freed_parts(states[positions])
    freed = {}
    for position, entry, hours in zip(
        positions.tolist(), entries.tolist(), hours_free.tolist(), strict=True
    ):
        ending = [c for c in profile_of(ids[position]).commitments if c.until is not None]
        freed[position] = Freed(ending[entry], hours)
    return freed


class Ranking(Sequence[Match]):
    """Matches of one query, best score first, then by id.

    Ids and scores are ready at once (`ids`, `scores`); the rest is built when asked for:
    every match's reasons alone by `reasons()` (with `scored()`, all a caller needs to
    publish the matches: the service uses that), the full `Evaluation` objects all together
    by `matches()` (what `MatchIndex.matches_for_*` return), or one at a time by indexing
    and iteration. Either way they equal what `evaluate()` gives for the pair. A match a
    commitment's end makes possible ends its reasons with the one naming it (`Freed`).
    """

    __slots__ = ("_freed", "_languages", "_matches", "_reasons", "_states", "ids", "scores")

    def __init__(
        self,
        ids: list[str],
        scores: npt.NDArray[np.float64],
        states: npt.NDArray[np.int64],
        languages: npt.NDArray[np.int64],
        freed: Mapping[int, Freed] | None = None,
    ) -> None:
        """`states`: one row per component, one column per match; `languages`: the index
        in `scoring.LANGUAGES` per match, or one (0-d) for all; `freed`: by position."""
        self.ids = ids
        self.scores = scores
        self._states = states
        self._languages = languages
        self._freed = freed or {}
        self._matches: list[Match] | None = None
        self._reasons: list[tuple[str, ...]] | None = None

    @classmethod
    def empty(cls) -> Ranking:
        return cls(
            [],
            np.zeros(0),
            np.zeros((len(COMPONENTS), 0), dtype=np.int64),
            np.zeros((), dtype=np.int64),
        )

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, i: int) -> Match: ...
    @overload
    def __getitem__(self, i: slice) -> list[Match]: ...
    def __getitem__(self, i: int | slice) -> Match | list[Match]:
        if self._matches is not None:
            return self._matches[i]
        if isinstance(i, slice):
            return [self._match(j) for j in range(*i.indices(len(self)))]
        return self._match(range(len(self))[i])

    def __iter__(self) -> Iterator[Match]:
        return iter(self.matches())

    def matches(self) -> list[Match]:
        """Every match with its evaluation, rendered in one batch (and kept)."""
        if self._matches is None:
            evaluations = rendering.evaluations(self.scores, self._states, self._languages)
            for position in self._freed:
                evaluations[position] = self._noted(position, evaluations[position])
            self._matches = list(zip(self.ids, evaluations, strict=True))
        return self._matches

    def reasons(self) -> list[tuple[str, ...]]:
        """Every match's reasons, in ranking order, rendered in one batch (and kept).

        What a caller needs besides `ids` and `scores` to publish the matches; equal to
        the `reasons` of the evaluations, without building the evaluations.
        """
        if self._reasons is None:
            if self._matches is not None:
                self._reasons = [evaluation.reasons for _, evaluation in self._matches]
            else:
                self._reasons = rendering.reasons(self._states, self._languages)
                for position in self._freed:
                    reasons = self._reasons[position]
                    self._reasons[position] = (*reasons, self._freed_reason(position))
        return self._reasons

    def scored(self) -> Iterator[Scored]:
        """(id, score, reasons) of every match in ranking order: what publishing needs."""
        return zip(self.ids, self.scores.tolist(), self.reasons(), strict=True)

    def _match(self, row: int) -> Match:
        language = self._languages[row : row + 1] if self._languages.ndim else self._languages
        one = slice(row, row + 1)
        evaluation = rendering.evaluations(self.scores[one], self._states[:, one], language)[0]
        if row in self._freed:
            evaluation = self._noted(row, evaluation)
        return self.ids[row], evaluation

    def _freed_reason(self, position: int) -> str:
        languages = self._languages
        language = languages[position] if languages.ndim else languages
        commitment, hours_free = self._freed[position]
        return freed_reason(commitment, hours_free, LANGUAGES[int(language)])

    def _noted(self, position: int, evaluation: Evaluation) -> Evaluation:
        return replace(evaluation, reasons=(*evaluation.reasons, self._freed_reason(position)))

    def __repr__(self) -> str:
        top: Any = [(i, float(s)) for i, s in zip(self.ids[:3], self.scores[:3], strict=False)]
        return f"Ranking({len(self)} matches, top {top})"
