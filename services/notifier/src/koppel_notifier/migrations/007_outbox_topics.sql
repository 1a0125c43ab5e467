-- The outbox also carries the answers taken on the consultant's page (contract 8.1), which
-- go to koppel.responses.v1 keyed by match id, not to koppel.notifications.v1 keyed by
-- consultant id: each row names its topic and, when it is not the consultant id, its key.
-- consultant_id stays on every row, so that erasure still deletes all of a consultant's.

ALTER TABLE notifier_outbox ADD COLUMN topic TEXT NOT NULL DEFAULT 'koppel.notifications.v1';
ALTER TABLE notifier_outbox ADD COLUMN message_key TEXT;
