-- Notifier state: the contact details it may use, the match events it has seen, the
-- deliveries it owes (one row per match, revision, channel and kind) and an outbox of
-- delivery outcomes still to be published on koppel.notifications.v1.

CREATE TABLE notifier_contacts (
    consultant_id TEXT PRIMARY KEY,
    name TEXT,
    email TEXT,
    language TEXT NOT NULL DEFAULT 'nl',
    channels TEXT[] NOT NULL DEFAULT '{}',
    mode TEXT NOT NULL DEFAULT 'instant',
    min_score DOUBLE PRECISION NOT NULL DEFAULT 0.5,
    webhook_url TEXT,
    webhook_secret TEXT,
    reachable BOOLEAN NOT NULL DEFAULT false,
    -- 410 Gone from this URL: no more webhooks until the profile names another URL.
    webhook_disabled_url TEXT,
    -- SMTP 5xx for this address: no more email until the profile names another address.
    email_bounced_address TEXT,
    -- Unsubscribed (one-click) while this was the address: no email until it changes.
    unsubscribed_address TEXT,
    unsubscribed_at TIMESTAMPTZ,
    erased_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE notifier_match_events (
    event_key TEXT PRIMARY KEY,
    match_id TEXT NOT NULL,
    consultant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    revision INTEGER NOT NULL,
    score DOUBLE PRECISION,
    payload JSONB,
    occurred_at TIMESTAMPTZ NOT NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    routed_at TIMESTAMPTZ
);
CREATE INDEX notifier_match_events_awaiting ON notifier_match_events (consultant_id) WHERE routed_at IS NULL;
CREATE INDEX notifier_match_events_by_match ON notifier_match_events (match_id);

CREATE TABLE notifier_deliveries (
    id UUID PRIMARY KEY,
    dedupe_key TEXT NOT NULL UNIQUE,
    consultant_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    kind TEXT NOT NULL,
    match_id TEXT,
    revision INTEGER NOT NULL DEFAULT 0,
    match_ids TEXT[] NOT NULL DEFAULT '{}',
    payload JSONB,
    occurred_at TIMESTAMPTZ NOT NULL,
    status TEXT NOT NULL,
    digest_id UUID,
    attempts INTEGER NOT NULL DEFAULT 0,
    due_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    lease_until TIMESTAMPTZ,
    last_error TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at TIMESTAMPTZ,
    CONSTRAINT notifier_deliveries_status CHECK (
        status IN ('pending', 'sending', 'queued', 'digested', 'delivered', 'failed',
                   'dead', 'cancelled')
    )
);
CREATE INDEX notifier_deliveries_due ON notifier_deliveries (due_at) WHERE status IN ('pending', 'sending');
CREATE INDEX notifier_deliveries_by_consultant ON notifier_deliveries (consultant_id, channel, status);
CREATE INDEX notifier_deliveries_by_match ON notifier_deliveries (match_id);
CREATE INDEX notifier_deliveries_queued ON notifier_deliveries (consultant_id) WHERE status = 'queued';
CREATE INDEX notifier_deliveries_by_digest ON notifier_deliveries (digest_id) WHERE digest_id IS NOT NULL;

CREATE TABLE notifier_outbox (
    id UUID PRIMARY KEY,
    consultant_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    data JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
