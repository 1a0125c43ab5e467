-- The erasure record: which consultant was erased (SHA-256 of the id, see koppel.erasure)
-- and when, nothing else. A profile written before that time (a late record, or one a
-- dead-letter replay put back) is ignored; one written after it is a new registration,
-- matched afresh (docs/security.md, erasure). Written in the shard's transaction, with its
-- before-image in matcher_undo like every other row (see service_layer.exactly_once).

CREATE TABLE matcher_erasures (
    consultant_key TEXT PRIMARY KEY,
    shard INTEGER NOT NULL,
    erased_at TIMESTAMPTZ NOT NULL
);

ALTER TABLE matcher_undo DROP CONSTRAINT matcher_undo_relation_check;
ALTER TABLE matcher_undo ADD CONSTRAINT matcher_undo_relation_check
    CHECK (relation IN ('assignments', 'profiles', 'matches', 'erasures'));
