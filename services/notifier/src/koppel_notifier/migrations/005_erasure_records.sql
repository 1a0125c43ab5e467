-- The erasure record: which consultant was erased (SHA-256 of the id, see koppel.erasure)
-- and when, nothing else. Late and replayed records are checked against it, so that only a
-- registration after the erasure brings a consultant back (docs/security.md, erasure).
-- Numbered 005 to leave 003 and 004 to changes made in parallel.

CREATE TABLE notifier_erasures (
    consultant_key TEXT PRIMARY KEY,
    erased_at TIMESTAMPTZ NOT NULL
);

-- Consultants erased under the earlier rule kept a contact row (id and erased_at) and rows
-- naming them: keep only their erasure record.
INSERT INTO notifier_erasures (consultant_key, erased_at)
SELECT encode(sha256(convert_to(consultant_id, 'UTF8')), 'hex'), erased_at
FROM notifier_contacts WHERE erased_at IS NOT NULL;

DELETE FROM notifier_deliveries d USING notifier_contacts c
WHERE c.consultant_id = d.consultant_id AND c.erased_at IS NOT NULL;
DELETE FROM notifier_match_events e USING notifier_contacts c
WHERE c.consultant_id = e.consultant_id AND c.erased_at IS NOT NULL;
DELETE FROM notifier_outbox o USING notifier_contacts c
WHERE c.consultant_id = o.consultant_id AND c.erased_at IS NOT NULL;
DELETE FROM notifier_contacts WHERE erased_at IS NOT NULL;
