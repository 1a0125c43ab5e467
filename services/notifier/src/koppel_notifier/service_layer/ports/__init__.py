"""What the notifier's use cases need from the outside world, one small Protocol per role,
in a module per part of the service: `inbox` (consuming events), `sending` (deliveries,
senders, digests, outcomes) and `consultant` (the page, answers and unsubscribe)."""
