"""The consultant's answer to a pair, as the matcher keeps it (contract §8.1).

Answers arrive on `koppel.responses.v1`, possibly out of order across the topic's
partitions and replayed after a crash, so the answer in force is decided by time, not by
arrival: the answer with the latest `responded_at` wins (on a tie the one read last), and a
withdrawal removes the answer in force only when it was made at or after that answer (an
older withdrawal, read late, takes back an answer that was already replaced).

Only `not_interested` changes what the matcher does (`suppresses`): the pair announces
nothing until the answer is taken back or replaced by `interested`. Erasure removes the
consultant's answers with the rest of their state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from koppel.vocabulary import Answer


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """The answer in force for one pair."""

    consultant_id: str
    assignment_id: str
    match_id: str
    response: Answer
    reason: str | None
    responded_at: datetime


def answer_after_response(current: StoredAnswer | None, incoming: StoredAnswer) -> StoredAnswer:
    """The answer in force once `incoming` is read: the later of the two."""
    if current is not None and current.responded_at > incoming.responded_at:
        return current
    return incoming


def answer_after_withdrawal(
    current: StoredAnswer | None, withdrawn_at: datetime
) -> StoredAnswer | None:
    """The answer in force once a withdrawal made at `withdrawn_at` is read (None: none)."""
    if current is not None and current.responded_at > withdrawn_at:
        return current
    return None


def suppresses(answer: StoredAnswer | None) -> bool:
    """Whether the pair announces nothing while `answer` is in force."""
    return answer is not None and answer.response is Answer.NOT_INTERESTED
