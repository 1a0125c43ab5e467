"""schemathesis against a real `koppel-intake` process: no 5xx, and Kafka holds exactly
what was accepted.

Cases come from the intake's own `/openapi.json`, valid (positive) and invalid (negative)
for every operation. All carry one `traceparent` of this run, which the intake puts on
every event it publishes; afterwards the canonical topics must hold one event per `202`
answered (its `event_id`) and none for any rejected request.

`KOPPEL_FUZZ_EXAMPLES` sets the examples per operation and mode (default 40, about 400
cases); the thousands-of-cases run in docs/benchmarks.md used 1000:

    KOPPEL_FUZZ_EXAMPLES=1000 uv run pytest -p no:cacheprovider -s \\
        tests/integration/intake/hostile/test_openapi_published.py
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    positive_data_acceptance,
)

from koppel.cloudevents import decode
from koppel.topics import ASSIGNMENTS, CONSULTANTS, RESPONSES
from koppel_testing.integration_processes import ServiceProcess
from koppel_testing.kafka_reading import OpenLedger, Record, carries_trace, new_trace

EXAMPLES = int(os.environ.get("KOPPEL_FUZZ_EXAMPLES", "40"))
# The long run takes longer than the suite's 300 s per test.
pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.timeout(max(300, EXAMPLES * 3)),
]


def _operations(url: str, mode: GenerationMode) -> list[Any]:
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()
        operations.append(result.ok())
    if mode is GenerationMode.NEGATIVE:
        operations = [op for op in operations if op.path.startswith("/v1/")]
    return operations


def _event_id(record: Record) -> str:
    if record.value is None:
        return str(dict(record.headers)["ce_id"].decode())
    return decode(record.value, record.headers).id


async def test_generated_requests_get_no_5xx_and_only_accepted_ones_are_published(
    http_intake: ServiceProcess,
    hostile_token: str,
    ledger: OpenLedger,
) -> None:
    traceparent, trace_id = new_trace()
    headers = {"Authorization": f"Bearer {hostile_token}", "traceparent": traceparent}
    published = await ledger([ASSIGNMENTS, CONSULTANTS, RESPONSES])
    statuses: Counter[int] = Counter()
    accepted: list[str] = []
    started = time.monotonic()

    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        for operation in _operations(http_intake.url, mode):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                phases=[Phase.generate, Phase.shrink],
                suppress_health_check=list(HealthCheck),
            )
            def exercise(case: Case[Any]) -> None:
                response = case.call_and_validate(
                    base_url=http_intake.url,
                    headers=headers,
                    # Contract rules JSON Schema cannot state (hours.min <= max, body id =
                    # path id) rightly refuse some schema-valid bodies; and the contract
                    # models validate in pydantic's lax mode, which accepts some bodies the
                    # schema does not (`"inhabitants": false` as 0, `"duration_months": "4"`).
                    excluded_checks=[positive_data_acceptance, negative_data_rejection],
                )
                statuses[response.status_code] += 1
                if response.status_code == 202:
                    accepted.append(json.loads(response.content)["event_id"])

            exercise()

    elapsed = time.monotonic() - started
    cases = sum(statuses.values())
    http_intake.assert_alive()
    ours = [r for r in await published.read() if carries_trace(r, trace_id)]
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    print(
        f"\nschemathesis: {cases} cases in {elapsed:.1f} s, {server_errors} 5xx, "
        f"{len(accepted)} accepted, {len(ours)} published; "
        f"statuses {dict(sorted(statuses.items()))}"
    )
    assert cases >= EXAMPLES * 4
    assert not [status for status in statuses if status >= 500]
    assert sorted(_event_id(record) for record in ours) == sorted(accepted)
