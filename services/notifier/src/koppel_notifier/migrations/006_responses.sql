-- The consultants' answers to their matches (contract 8.1), as read from koppel.responses.v1
-- and written at once by the consultant's page: one row per match, the last answer by
-- responded_at. A withdrawn answer has no row. Erasure deletes the consultant's rows.

CREATE TABLE notifier_responses (
    match_id TEXT PRIMARY KEY,
    consultant_id TEXT NOT NULL,
    assignment_id TEXT NOT NULL,
    response TEXT NOT NULL,
    reason TEXT,
    note TEXT,
    via TEXT NOT NULL,
    responded_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX notifier_responses_by_consultant ON notifier_responses (consultant_id);
