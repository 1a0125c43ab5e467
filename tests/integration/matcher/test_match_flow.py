"""Both directions, de-duplication and the read API of the matcher, on real Kafka and PostgreSQL."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


async def test_assignment_then_profile_emits_found(matcher, publisher, matches, kit, unique_id):
    await publisher.assignment(kit.assignment(f"a-{unique_id}"))
    await publisher.profile(kit.profile(f"c-{unique_id}"))
    events = await matches.wait_for(1)
    assert [kit.brief(e) for e in events] == [("found", f"c-{unique_id}", f"a-{unique_id}", 1)]
