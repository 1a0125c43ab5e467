-- The capacity schedule (contract §8.4, docs/decisions/0004-capacity-schedule.md): when the
-- next commitment of a stored profile ends (until + 1 day, 00:00 Europe/Amsterdam), the
-- shard matches the consultant again at that moment. The due time lives in the profile's
-- own row: written by the same statement as the profile (one round trip, restored by the
-- same before-image in matcher_undo), replaced by every upsert and gone with the profile
-- (consent withdrawn, erasure). NULL: no commitment of the profile ends later.

ALTER TABLE matcher_profiles ADD COLUMN wakeup_at TIMESTAMPTZ;

-- The shard finds its due consultants and its next due time without reading its profiles.
CREATE INDEX matcher_profiles_wakeup ON matcher_profiles (shard, wakeup_at)
    WHERE wakeup_at IS NOT NULL;
