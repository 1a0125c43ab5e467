-- Contract version 2 (§8.4) keeps a profile's commitments in `commitments`; a profile stored
-- before it holds contract version 1's `committed_hours_per_week`, read now as one commitment
-- of those hours without an end (none when 0), as intake reads such an upsert. Rewritten
-- here, in the stored profiles and in the before-images of an undo log left by a
-- transaction that never reached Kafka, so the matcher reads one form only.

UPDATE matcher_profiles
SET document = (document - 'committed_hours_per_week') || jsonb_build_object(
        'commitments',
        CASE WHEN (document ->> 'committed_hours_per_week')::int > 0
             THEN jsonb_build_array(jsonb_build_object(
                 'hours_per_week', (document ->> 'committed_hours_per_week')::int))
             ELSE '[]'::jsonb END)
WHERE document ? 'committed_hours_per_week';

UPDATE matcher_undo
SET before = jsonb_set(
        before,
        '{document}',
        ((before -> 'document') - 'committed_hours_per_week') || jsonb_build_object(
            'commitments',
            CASE WHEN (before -> 'document' ->> 'committed_hours_per_week')::int > 0
                 THEN jsonb_build_array(jsonb_build_object(
                     'hours_per_week', (before -> 'document' ->> 'committed_hours_per_week')::int))
                 ELSE '[]'::jsonb END))
WHERE relation = 'profiles' AND before -> 'document' ? 'committed_hours_per_week';
