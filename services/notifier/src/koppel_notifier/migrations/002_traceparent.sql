-- W3C trace context of the match event, kept with what it causes so that a delivery's
-- logs, its webhook request and its notification.* event continue the same trace.

ALTER TABLE notifier_match_events ADD COLUMN traceparent TEXT;
ALTER TABLE notifier_deliveries ADD COLUMN traceparent TEXT;
ALTER TABLE notifier_outbox ADD COLUMN traceparent TEXT;
