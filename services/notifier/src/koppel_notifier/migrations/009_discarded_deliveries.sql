-- An operator may discard a dead delivery (`koppel-notifier deliveries discard`): status
-- `discarded`, which no sender claims, with when and why. Dead and failed deliveries are
-- listed by the time they were given up, hence the partial index.

ALTER TABLE notifier_deliveries DROP CONSTRAINT notifier_deliveries_status;
ALTER TABLE notifier_deliveries ADD CONSTRAINT notifier_deliveries_status CHECK (
    status IN ('pending', 'sending', 'queued', 'digested', 'delivered', 'failed',
               'dead', 'cancelled', 'discarded')
);
ALTER TABLE notifier_deliveries ADD COLUMN discarded_at TIMESTAMPTZ;
ALTER TABLE notifier_deliveries ADD COLUMN discard_reason TEXT;
CREATE INDEX notifier_deliveries_given_up ON notifier_deliveries (finished_at)
    WHERE status IN ('dead', 'failed');
