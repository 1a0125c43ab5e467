-- The consultants' answers to their matches (contract §8.1), as read from
-- koppel.responses.v1: the answer in force per pair, kept by the shard that owns the
-- consultant. A `not_interested` answer stops the pair's announcements until it is taken
-- back (docs/architecture.md, "Answers in the matcher"). The free-text note is not kept:
-- the matcher does not need it. Written in the shard's transaction, with its before-image
-- in matcher_undo like every other row (see adapters/exactly_once.py).

CREATE TABLE matcher_responses (
    consultant_id TEXT NOT NULL,
    assignment_id TEXT NOT NULL,
    shard INTEGER NOT NULL,
    match_id TEXT NOT NULL,
    response TEXT NOT NULL CHECK (response IN ('interested', 'not_interested')),
    reason TEXT,
    responded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (consultant_id, assignment_id)
);
CREATE INDEX matcher_responses_shard ON matcher_responses (shard);
CREATE INDEX matcher_responses_match ON matcher_responses (match_id);

-- What the consultant was last told of the assignment: the visible fields (contract §8.3)
-- of the summary last announced for the pair, so that a later revision names what changed.
-- NULL on rows written before this column existed: their next revision records a baseline.
ALTER TABLE matcher_matches ADD COLUMN announced JSONB;

ALTER TABLE matcher_undo DROP CONSTRAINT matcher_undo_relation_check;
ALTER TABLE matcher_undo ADD CONSTRAINT matcher_undo_relation_check
    CHECK (relation IN ('assignments', 'profiles', 'matches', 'erasures', 'responses'));
