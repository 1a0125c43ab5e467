"""Bit masks over the closed vocabularies, and the interned certification vocabulary."""

from __future__ import annotations

from collections.abc import Iterable

from koppel.vocabulary import (
    AssignmentType,
    Discipline,
    OrganizationType,
    SizeClass,
    Weekday,
    WorkStyle,
)

DISCIPLINES: tuple[Discipline, ...] = tuple(Discipline)
ORGANIZATION_TYPES: tuple[OrganizationType, ...] = tuple(OrganizationType)
ASSIGNMENT_TYPES: tuple[AssignmentType, ...] = tuple(AssignmentType)
WORK_STYLES: tuple[WorkStyle, ...] = tuple(WorkStyle)
SIZE_CLASSES: tuple[SizeClass, ...] = tuple(SizeClass)
WEEKDAYS: tuple[Weekday, ...] = tuple(Weekday)

DISCIPLINE_BITS = len(DISCIPLINES)
_DISCIPLINE_BIT = {d: 1 << i for i, d in enumerate(DISCIPLINES)}
ORGANIZATION_TYPE_INDEX = {t: i for i, t in enumerate(ORGANIZATION_TYPES)}
ASSIGNMENT_TYPE_INDEX = {t: i for i, t in enumerate(ASSIGNMENT_TYPES)}
WORK_STYLE_INDEX = {s: i for i, s in enumerate(WORK_STYLES)}
SIZE_CLASS_INDEX = {s: i for i, s in enumerate(SIZE_CLASSES)}


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


def size_class_mask(classes: Iterable[SizeClass]) -> int:
    mask = 0
    for size in classes:
        mask |= 1 << SIZE_CLASS_INDEX[size]
    return mask


def weekday_mask(days: Iterable[Weekday]) -> int:
    """Bit i for `WEEKDAYS[i]` (Monday is bit 0)."""
    mask = 0
    for day in days:
        mask |= 1 << WEEKDAYS.index(day)
    return mask


def weekdays_in(mask: int) -> list[Weekday]:
    return [day for i, day in enumerate(WEEKDAYS) if mask >> i & 1]


def certification_key(name: str) -> str:
    """The form certifications are compared in (contract §8.5): case-insensitive, with
    whitespace collapsed, so "Prince2 " and "PRINCE2" are one certification."""
    return " ".join(name.split()).casefold()


class CertificationVocabulary:
    """Interns certification names to bit positions; words of 64 bits hold the masks.

    Names are interned by `certification_key`: the one place where two spellings of a
    certification become the same bit, for the assignment's and the consultant's side alike.
    """

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
            self._bits.setdefault(certification_key(name), len(self._bits))

    def knows(self, names: Iterable[str]) -> bool:
        return all(certification_key(name) in self._bits for name in names)

    def words_of(self, names: Iterable[str]) -> list[int]:
        """The mask of `names` as `words` 64-bit words; unknown names are left out."""
        words = [0] * self.words
        for name in names:
            bit = self._bits.get(certification_key(name))
            if bit is not None:
                words[bit // 64] |= 1 << (bit % 64)
        return words
