-- When each match's answer was last taken back. The consultant's page stores an answer and
-- its withdrawal at once, and the same events come back later from koppel.responses.v1; the
-- answer coming back after its withdrawal must not return, so a withdrawal leaves this mark
-- and an answer not newer than it is not stored. Erasure deletes the consultant's marks.

CREATE TABLE notifier_response_withdrawals (
    match_id TEXT PRIMARY KEY,
    consultant_id TEXT NOT NULL,
    withdrawn_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX notifier_response_withdrawals_by_consultant
    ON notifier_response_withdrawals (consultant_id);
