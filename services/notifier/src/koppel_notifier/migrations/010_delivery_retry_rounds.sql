-- An operator's retry (`koppel-notifier deliveries retry`) starts a dead delivery's attempts
-- again from 0; `retry_round` counts those retries, so the outcome events of a later round
-- get event ids of their own instead of repeating the first round's.

ALTER TABLE notifier_deliveries ADD COLUMN retry_round INTEGER NOT NULL DEFAULT 0;
