"""Bit masks over the closed vocabularies, and the interned certification vocabulary."""

from __future__ import annotations

from collections.abc import Iterable

from koppel.vocabulary import AssignmentType, Discipline, OrganizationType, WorkStyle

DISCIPLINES: tuple[Discipline, ...] = tuple(Discipline)
ORGANIZATION_TYPES: tuple[OrganizationType, ...] = tuple(OrganizationType)
ASSIGNMENT_TYPES: tuple[AssignmentType, ...] = tuple(AssignmentType)
WORK_STYLES: tuple[WorkStyle, ...] = tuple(WorkStyle)

DISCIPLINE_BITS = len(DISCIPLINES)
_DISCIPLINE_BIT = {d: 1 << i for i, d in enumerate(DISCIPLINES)}
ORGANIZATION_TYPE_INDEX = {t: i for i, t in enumerate(ORGANIZATION_TYPES)}
ASSIGNMENT_TYPE_INDEX = {t: i for i, t in enumerate(ASSIGNMENT_TYPES)}
WORK_STYLE_INDEX = {s: i for i, s in enumerate(WORK_STYLES)}


def discipline_mask(disciplines: Iterable[Discipline]) -> int:
    mask = 0
    for discipline in disciplines:
        mask |= _DISCIPLINE_BIT[discipline]
    return mask


def disciplines_in(mask: int) -> list[Discipline]:
    """The disciplines of a mask, in vocabulary order (so texts come out the same every time)."""
    return [d for i, d in enumerate(DISCIPLINES) if mask >> i & 1]


def organization_type_mask(types: Iterable[OrganizationType]) -> int:
    mask = 0
    for t in types:
        mask |= 1 << ORGANIZATION_TYPE_INDEX[t]
    return mask


def assignment_type_mask(types: Iterable[AssignmentType]) -> int:
    mask = 0
    for t in types:
        mask |= 1 << ASSIGNMENT_TYPE_INDEX[t]
    return mask


class CertificationVocabulary:
    """Interns certification names to bit positions; words of 64 bits hold the masks."""

    def __init__(self) -> None:
        self._bits: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._bits)

    @property
    def words(self) -> int:
        """Number of 64-bit words needed for a mask over every interned name."""
        return max(1, (len(self._bits) + 63) // 64)

    def intern(self, names: Iterable[str]) -> None:
        for name in names:
            self._bits.setdefault(name, len(self._bits))

    def knows(self, names: Iterable[str]) -> bool:
        return all(name in self._bits for name in names)

    def words_of(self, names: Iterable[str]) -> list[int]:
        """The mask of `names` as `words` 64-bit words; unknown names are left out."""
        words = [0] * self.words
        for name in names:
            bit = self._bits.get(name)
            if bit is not None:
                words[bit // 64] |= 1 << (bit % 64)
        return words
