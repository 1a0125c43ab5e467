"""The AsyncAPI 3.0 document of the topics intake reads and writes (`docs/asyncapi.json`).

Built from `koppel.topics` and the JSON Schemas of the contract models, so it cannot
describe anything the code does not do; a unit test fails when the committed file drifts.
Regenerate with `uv run koppel-intake asyncapi > docs/asyncapi.json`.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic.json_schema import models_json_schema

from koppel import dead_letters
from koppel.cloudevents import STRUCTURED_CONTENT_TYPE
from koppel.contract import (
    Assignment,
    AssignmentClosed,
    ConsultantErasure,
    ConsultantProfile,
    MatchResponded,
    MatchResponseWithdrawn,
)
from koppel.dead_letters import DeadLetterCode
from koppel.event_types import EventType, Source
from koppel.topics import ASSIGNMENTS, CONSULTANTS, RAW, RESPONSES, TOPICS, dlq
from koppel_intake.settings import DEFAULT_RAW_GROUP

_REF = "#/components/schemas/{model}"

_MESSAGES: dict[str, tuple[EventType, str]] = {
    "assignmentUpserted": (EventType.ASSIGNMENT_UPSERTED, Assignment.__name__),
    "assignmentClosed": (EventType.ASSIGNMENT_CLOSED, AssignmentClosed.__name__),
    "consultantUpserted": (EventType.CONSULTANT_UPSERTED, ConsultantProfile.__name__),
    "consultantErased": (EventType.CONSULTANT_ERASED, ConsultantErasure.__name__),
    "matchResponded": (EventType.MATCH_RESPONDED, MatchResponded.__name__),
    "matchResponseWithdrawn": (
        EventType.MATCH_RESPONSE_WITHDRAWN,
        MatchResponseWithdrawn.__name__,
    ),
}
_ANSWERS = ["matchResponded", "matchResponseWithdrawn"]

_ENVELOPE: dict[str, Any] = {
    "type": "object",
    "description": "CloudEvents 1.0, structured mode (binary mode with ce_* headers is "
    "accepted on the raw topic too).",
    "required": ["specversion", "id", "source", "type"],
    "properties": {
        "specversion": {"const": "1.0"},
        "id": {"type": "string", "minLength": 1},
        "source": {"type": "string", "minLength": 1},
        "type": {"type": "string"},
        "subject": {"type": "string", "description": "the entity id, equal to the Kafka key"},
        "time": {"type": "string", "format": "date-time"},
        "datacontenttype": {"const": "application/json"},
        "traceparent": {"type": "string", "description": "W3C Trace Context"},
        "data": {},
    },
}

_ERROR_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": "The original headers, plus these.",
    "properties": {
        dead_letters.CODE: {
            "type": "string",
            "enum": [code.value for code in DeadLetterCode],
        },
        dead_letters.REASON: {"type": "string", "description": "names every offending field"},
        dead_letters.SOURCE_TOPIC: {"type": "string"},
        dead_letters.SOURCE_PARTITION: {"type": "string"},
        dead_letters.SOURCE_OFFSET: {"type": "string"},
        dead_letters.AT: {"type": "string", "format": "date-time"},
    },
}


def build_document() -> dict[str, Any]:
    """The AsyncAPI document as a JSON-ready dict."""
    _, definitions = models_json_schema(
        [
            (model, "validation")
            for model in (
                Assignment,
                AssignmentClosed,
                ConsultantProfile,
                ConsultantErasure,
                MatchResponded,
                MatchResponseWithdrawn,
            )
        ],
        ref_template=_REF,
    )
    schemas: dict[str, Any] = {"CloudEvent": _ENVELOPE, **definitions["$defs"]}
    messages = {
        name: _event_message(event_type, model) for name, (event_type, model) in _MESSAGES.items()
    }
    messages["consultantErasedTombstone"] = _tombstone_message()
    messages["deadLetter"] = {
        "name": "deadLetter",
        "title": "A record its consumer could not accept",
        "summary": "The original key, value bytes and headers, plus koppel-error-* headers.",
        "headers": _ERROR_HEADERS,
        "payload": {"description": "the original value bytes, unchanged"},
    }
    raw_types = ["assignmentUpserted", "assignmentClosed", "consultantUpserted", "consultantErased"]
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Koppel intake",
            "version": "1.0.0",
            "description": "Topics the intake service consumes and produces. Kafka keys are "
            "entity ids; events are CloudEvents 1.0 with source " + Source.INTAKE.value + ".",
        },
        "defaultContentType": STRUCTURED_CONTENT_TYPE,
        "servers": {
            "local": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "KAFKA_BOOTSTRAP_SERVERS",
            }
        },
        "channels": {
            "raw": _channel(RAW, raw_types, "Upstream systems publish here instead of HTTP."),
            "rawDeadLetters": _channel(
                dlq(RAW), ["deadLetter"], "Everything invalid from the raw topic."
            ),
            "assignments": _channel(
                ASSIGNMENTS,
                ["assignmentUpserted", "assignmentClosed"],
                "Compacted; full state in each upsert, keyed by assignment id.",
            ),
            "consultants": _channel(
                CONSULTANTS,
                ["consultantUpserted", "consultantErasedTombstone"],
                "Compacted; keyed by consultant id; erasure is a tombstone.",
            ),
            "responses": _channel(
                RESPONSES,
                _ANSWERS,
                "Compacted; consultants' answers to their matches, keyed by match id (the last"
                " answer wins). Intake publishes those given through its API (via=api); the"
                " notifier those given on the consultant's page or by an email link.",
            ),
            "responsesDeadLetters": _channel(
                dlq(RESPONSES),
                ["deadLetter"],
                "Records of the responses topic that the matcher or the notifier could not accept.",
            ),
        },
        "operations": {
            "consumeRaw": _operation("receive", "raw", raw_types, group=DEFAULT_RAW_GROUP),
            "deadLetterRaw": _operation("send", "rawDeadLetters", ["deadLetter"]),
            "publishAssignments": _operation(
                "send", "assignments", ["assignmentUpserted", "assignmentClosed"]
            ),
            "publishConsultants": _operation(
                "send", "consultants", ["consultantUpserted", "consultantErasedTombstone"]
            ),
            "publishResponses": _operation("send", "responses", _ANSWERS),
        },
        "components": {"messages": messages, "schemas": schemas},
    }


def render() -> str:
    """The document as committed: two-space JSON with a final newline."""
    return json.dumps(build_document(), indent=2, ensure_ascii=False) + "\n"


def _event_message(event_type: EventType, model: str) -> dict[str, Any]:
    return {
        "name": event_type.value,
        "title": event_type.value,
        "contentType": STRUCTURED_CONTENT_TYPE,
        "bindings": {"kafka": {"key": {"type": "string", "description": "the entity id"}}},
        "payload": {
            "allOf": [
                {"$ref": "#/components/schemas/CloudEvent"},
                {
                    "type": "object",
                    "properties": {
                        "type": {"const": event_type.value},
                        "data": {"$ref": _REF.format(model=model)},
                    },
                },
            ]
        },
    }


def _tombstone_message() -> dict[str, Any]:
    return {
        "name": "tombstone",
        "title": "Consultant erased (tombstone)",
        "summary": "A null value under the consultant's key; compaction then removes the "
        "profile. Headers carry the data-less " + EventType.CONSULTANT_ERASED.value + " event.",
        "bindings": {"kafka": {"key": {"type": "string", "description": "the consultant id"}}},
        "headers": {
            "type": "object",
            "properties": {
                name: {"type": "string"}
                for name in (
                    "ce_specversion",
                    "ce_id",
                    "ce_source",
                    "ce_type",
                    "ce_subject",
                    "ce_time",
                    "ce_traceparent",
                )
            },
        },
        "payload": {"type": "null"},
    }


def _channel(address: str, messages: list[str], description: str) -> dict[str, Any]:
    spec = next(spec for spec in TOPICS if spec.name == address)
    return {
        "address": address,
        "description": description,
        "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in messages},
        "bindings": {
            "kafka": {
                "topic": address,
                "partitions": spec.partitions,
                "topicConfiguration": _topic_configuration(spec.config),
            }
        },
    }


def _topic_configuration(config: dict[str, str]) -> dict[str, Any]:
    known: dict[str, Any] = {}
    if "cleanup.policy" in config:
        known["cleanup.policy"] = config["cleanup.policy"].split(",")
    for key in ("retention.ms", "delete.retention.ms"):
        if key in config:
            known[key] = int(config[key])
    return known


def _operation(
    action: str, channel: str, messages: list[str], *, group: str | None = None
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "action": action,
        "channel": {"$ref": f"#/channels/{channel}"},
        "messages": [{"$ref": f"#/channels/{channel}/messages/{name}"} for name in messages],
    }
    if group is not None:
        operation["bindings"] = {"kafka": {"groupId": {"type": "string", "enum": [group]}}}
    return operation
