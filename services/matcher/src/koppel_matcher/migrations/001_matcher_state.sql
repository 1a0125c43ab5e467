-- The matcher's state, partitioned by shard (= partition of koppel.consultants.v1).
-- See koppel_matcher.service_layer.exactly_once for why every table carries the shard
-- and why matcher_undo exists.

CREATE TABLE matcher_shards (
    shard INTEGER PRIMARY KEY,
    epoch BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Every replica that owns a shard keeps its own view of all assignments, as far as that
-- shard has read koppel.assignments.v1.
CREATE TABLE matcher_assignments (
    shard INTEGER NOT NULL,
    assignment_id TEXT NOT NULL,
    status TEXT NOT NULL,
    closes_at TIMESTAMPTZ,
    document JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (shard, assignment_id)
);

-- Only what matching needs (no name, email or notification settings); only profiles that
-- are active and consented; erasure deletes the row.
CREATE TABLE matcher_profiles (
    consultant_id TEXT PRIMARY KEY,
    shard INTEGER NOT NULL,
    language TEXT NOT NULL,
    document JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX matcher_profiles_shard ON matcher_profiles (shard);

-- The emitted-match ledger: the last event published per pair.
CREATE TABLE matcher_matches (
    consultant_id TEXT NOT NULL,
    assignment_id TEXT NOT NULL,
    shard INTEGER NOT NULL,
    match_id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('found', 'withdrawn')),
    revision INTEGER NOT NULL CHECK (revision >= 1),
    score DOUBLE PRECISION NOT NULL,
    reasons JSONB NOT NULL,
    language TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    withdrawal_reason TEXT,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (consultant_id, assignment_id)
);
CREATE INDEX matcher_matches_shard_assignment ON matcher_matches (shard, assignment_id);
CREATE INDEX matcher_matches_found_assignment ON matcher_matches (assignment_id)
    WHERE state = 'found';

-- Before-images of the rows the shard's last, possibly uncommitted, transaction changed.
CREATE TABLE matcher_undo (
    shard INTEGER NOT NULL,
    step BIGSERIAL,
    relation TEXT NOT NULL CHECK (relation IN ('assignments', 'profiles', 'matches')),
    key JSONB NOT NULL,
    before JSONB,
    PRIMARY KEY (shard, step)
);
