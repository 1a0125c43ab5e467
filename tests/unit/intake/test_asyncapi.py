"""The committed AsyncAPI document matches the code that describes it."""

from __future__ import annotations

from pathlib import Path

from koppel.topics import ASSIGNMENTS, CONSULTANTS, RAW, RESPONSES
from koppel_intake.asyncapi import build_document, render

COMMITTED = Path(__file__).resolve().parents[3] / "docs" / "asyncapi.json"


def test_committed_document_is_up_to_date() -> None:
    assert COMMITTED.read_text() == render(), (
        "docs/asyncapi.json drifted: run `uv run koppel-intake asyncapi > docs/asyncapi.json`"
    )


def test_document_covers_every_topic_intake_touches() -> None:
    document = build_document()

    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == {
        RAW,
        f"{RAW}.dlq",
        ASSIGNMENTS,
        CONSULTANTS,
        RESPONSES,
        f"{RESPONSES}.dlq",
    }
    assert document["asyncapi"].startswith("3.")
    assert "Assignment" in document["components"]["schemas"]
    receive = [op for op in document["operations"].values() if op["action"] == "receive"]
    assert [op["channel"]["$ref"] for op in receive] == ["#/channels/raw"]
    answers = document["operations"]["publishResponses"]
    assert answers["action"] == "send"
    assert {m["$ref"].rsplit("/", 1)[-1] for m in answers["messages"]} == {
        "matchResponded",
        "matchResponseWithdrawn",
    }
    assert {"MatchResponded", "MatchResponseWithdrawn"} <= set(document["components"]["schemas"])


def test_every_reference_resolves() -> None:
    document = build_document()

    def refs(node: object) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return found + [ref for value in node.values() for ref in refs(value)]
        if isinstance(node, list):
            return [ref for value in node for ref in refs(value)]
        return []

    for ref in refs(document):
        target: object = document
        for part in ref.removeprefix("#/").split("/"):
            assert isinstance(target, dict)
            assert part in target, ref
            target = target[part]
