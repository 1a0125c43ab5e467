"""Response bodies of the read API, and the translation of a pair's verdict into one."""

from __future__ import annotations

from pydantic import BaseModel, Field

from koppel.vocabulary import Language
from koppel_matcher.adapters.match_queries import CurrentMatch, MatchStatus
from koppel_matcher.domain.verdict import Verdict


class MatchPage(BaseModel):
    matches: list[CurrentMatch]
    next_cursor: str | None = Field(
        description="pass as `cursor` for the next page; null on the last page"
    )
    next: str | None = Field(description="the next page's path and query; null on the last page")


class AssignmentMatches(MatchPage):
    assignment_id: str


class ConsultantMatches(MatchPage):
    consultant_id: str


class FailedFilterBody(BaseModel):
    filter: str = Field(description="the hard filter's name, e.g. `hours` or `travel`")
    label: str = Field(description="what it means, in the response's language")
    detail: str | None = Field(
        default=None,
        description=(
            "for `hours` and `office_weekdays`: the consultant's commitments that block it"
            " (label, hours, office days, end)"
        ),
    )


class CandidateVerdict(BaseModel):
    """Whether the pair matches now, and why (not)."""

    assignment_id: str
    consultant_id: str
    match_id: str
    language: Language
    matches: bool
    failed_filters: list[FailedFilterBody]
    score: float | None = Field(description="set when the pair matches")
    reasons: list[str] = Field(description="why it fits, when it matches")
    status: MatchStatus | None = Field(
        description="the pair's last published event (`found`, `withdrawn`), null if none"
    )


def verdict_body(
    verdict: Verdict,
    *,
    assignment_id: str,
    consultant_id: str,
    match_id: str,
    language: Language,
    status: MatchStatus | None,
) -> CandidateVerdict:
    evaluation = verdict.evaluation
    return CandidateVerdict(
        assignment_id=assignment_id,
        consultant_id=consultant_id,
        match_id=match_id,
        language=language,
        matches=evaluation is not None,
        failed_filters=[
            FailedFilterBody(filter=f.name, label=f.label, detail=f.detail) for f in verdict.failed
        ],
        score=None if evaluation is None else evaluation.score,
        reasons=[] if evaluation is None else list(evaluation.reasons),
        status=status,
    )
