"""The demo's consultants answer some of their matches, and a few assignments change.

After the first matches are delivered, a share of them is answered through the intake's
`PUT /v1/matches/{match_id}/response` (contract §8.1), as an upstream system answering for
its consultants would; then the assignments with a `not_interested` answer move their start
date by a week. The summary shows the update rule and the answer at work (§8.3): the
other consultants of those assignments get `match.updated`, the ones who said "not for me"
get nothing. Everything is drawn from `--seed`, so a run can be repeated.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from koppel.contract import Assignment, MatchFound, MatchUpdated
from koppel.vocabulary import Answer, DeclineReason

NOT_INTERESTED_SHARE = 0.6
"""Of the answered matches, this share says `not_interested`; the rest `interested`."""


@dataclass(frozen=True)
class PlannedAnswer:
    match: MatchFound
    response: Answer
    reason: DeclineReason | None


@dataclass
class AnswerRound:
    """What the demo answered and changed, and what the intake said to it."""

    answers: list[PlannedAnswer] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    revised: list[Assignment] = field(default_factory=list)

    @property
    def declined(self) -> set[str]:
        """Match ids answered `not_interested` and accepted by the intake."""
        return {
            a.match.match_id
            for a in self.answers
            if a.response is Answer.NOT_INTERESTED and a.match.match_id not in self.refused
        }


def plan(standing: Sequence[MatchFound], share: float, seed: int) -> list[PlannedAnswer]:
    """Which standing matches get which answer: `share` of them, drawn from `seed`."""
    rng = random.Random(f"answers-{seed}")  # noqa: S311 - demo data, not a secret
    ordered = sorted(standing, key=lambda match: match.match_id)
    chosen = rng.sample(ordered, k=round(len(ordered) * share))
    planned = []
    for match in sorted(chosen, key=lambda m: m.match_id):
        if rng.random() < NOT_INTERESTED_SHARE:
            reason = rng.choice(list(DeclineReason))
            planned.append(PlannedAnswer(match, Answer.NOT_INTERESTED, reason))
        else:
            planned.append(PlannedAnswer(match, Answer.INTERESTED, None))
    return planned


def revisions(answers: Sequence[PlannedAnswer], jobs: Sequence[Assignment]) -> list[Assignment]:
    """The assignments someone declined, with their start a week later: a visible change."""
    declined = {a.match.assignment.id for a in answers if a.response is Answer.NOT_INTERESTED}
    return [
        job.model_copy(update={"start_date": job.start_date + timedelta(days=7)})
        for job in jobs
        if job.id in declined
    ]


async def answer_all(
    client: httpx.AsyncClient, answers: Sequence[PlannedAnswer], *, concurrency: int
) -> dict[str, str]:
    """PUT every answer; returns the refused ones (match id → why)."""
    refused: dict[str, str] = {}
    gate = asyncio.Semaphore(concurrency)

    async def send(answer: PlannedAnswer) -> None:
        body: dict[str, str] = {
            "consultant_id": answer.match.consultant_id,
            "response": answer.response.value,
        }
        if answer.reason is not None:
            body["reason"] = answer.reason.value
        async with gate:
            response = await client.put(f"/v1/matches/{answer.match.match_id}/response", json=body)
        if response.status_code != 202:
            refused[answer.match.match_id] = f"HTTP {response.status_code}: {response.text[:300]}"

    await asyncio.gather(*(send(answer) for answer in answers))
    return refused


def outcome(round_: AnswerRound, updates: Sequence[MatchUpdated]) -> dict[str, Any]:
    """What the answers did: updates to the others, nothing to those who declined."""
    revised = {job.id for job in round_.revised}
    declined = round_.declined
    declined_on_revised = {
        a.match.match_id
        for a in round_.answers
        if a.match.match_id in declined and a.match.assignment.id in revised
    }
    about_revised = [u for u in updates if u.assignment.id in revised]
    return {
        "interested": sum(a.response is Answer.INTERESTED for a in round_.answers),
        "not_interested": sum(a.response is Answer.NOT_INTERESTED for a in round_.answers),
        "refused": len(round_.refused),
        "refusals": dict(list(round_.refused.items())[:3]),
        "assignments_revised": len(revised),
        "updates_announced": len({u.match_id for u in about_revised}),
        "suppressed": len(declined_on_revised - {u.match_id for u in about_revised}),
        "announced_despite_answer": len(declined_on_revised & {u.match_id for u in about_revised}),
    }
