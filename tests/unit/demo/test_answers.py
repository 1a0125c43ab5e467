"""The demo's answer round: which matches it answers, what it changes, what it reports."""

from __future__ import annotations

from datetime import date, timedelta

from koppel.contract import MatchFound, MatchUpdated
from koppel.vocabulary import Answer, DeclineReason, VisibleField
from koppel_demo.answers import AnswerRound, PlannedAnswer, outcome, plan, revisions
from koppel_demo.data import assignments
from koppel_testing.builders import match_found

TODAY = date(2026, 12, 2)
JOBS = assignments(4, 3, today=TODAY)


def found(job_index: int, consultant_id: str) -> MatchFound:
    job = JOBS[job_index]
    return match_found(consultant_id, job, reasons=["past"])


def updated(match: MatchFound) -> MatchUpdated:
    return MatchUpdated(
        **match.model_dump(exclude={"revision"}), revision=2, changed=[VisibleField.START_DATE]
    )


STANDING = [found(j, f"C-{c}") for j in range(4) for c in range(25)]


def test_the_plan_answers_the_share_asked_for_and_repeats_with_the_seed() -> None:
    first = plan(STANDING, 0.2, seed=7)

    assert len(first) == 20
    assert first == plan(list(reversed(STANDING)), 0.2, seed=7)
    assert first != plan(STANDING, 0.2, seed=8)
    assert {a.response for a in first} == {Answer.INTERESTED, Answer.NOT_INTERESTED}
    for answer in first:
        assert (answer.reason is None) == (answer.response is Answer.INTERESTED)


def test_no_share_plans_no_answers() -> None:
    assert plan(STANDING, 0.0, seed=7) == []


def test_only_declined_assignments_change_and_their_start_moves_a_week() -> None:
    declined = PlannedAnswer(STANDING[0], Answer.NOT_INTERESTED, DeclineReason.HOURS)
    liked = PlannedAnswer(STANDING[30], Answer.INTERESTED, None)

    changed = revisions([declined, liked], JOBS)

    assert [job.id for job in changed] == [JOBS[0].id]
    assert changed[0].start_date == JOBS[0].start_date + timedelta(days=7)
    assert changed[0].model_copy(update={"start_date": JOBS[0].start_date}) == JOBS[0]


def test_the_outcome_counts_updates_to_others_and_silence_to_decliners() -> None:
    declined = PlannedAnswer(STANDING[0], Answer.NOT_INTERESTED, DeclineReason.RATE)
    also_declined = PlannedAnswer(STANDING[1], Answer.NOT_INTERESTED, None)
    refused = PlannedAnswer(STANDING[2], Answer.NOT_INTERESTED, None)
    round_ = AnswerRound(
        answers=[
            declined,
            also_declined,
            refused,
            PlannedAnswer(STANDING[3], Answer.INTERESTED, None),
        ],
        refused={STANDING[2].match_id: "HTTP 404"},
    )
    round_.revised = revisions(round_.answers, JOBS)
    others = [updated(m) for m in STANDING[3:25]]

    report = outcome(round_, [*others, updated(STANDING[1]), updated(STANDING[40])])

    assert report["interested"] == 1
    assert report["not_interested"] == 3
    assert report["refused"] == 1
    assert report["assignments_revised"] == 1
    assert report["updates_announced"] == 23
    assert report["suppressed"] == 1
    assert report["announced_despite_answer"] == 1
