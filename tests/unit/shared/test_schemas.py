"""The committed JSON Schemas under docs/schemas are exactly what the models generate."""

from __future__ import annotations

from pathlib import Path

import jsonschema

from koppel.schemas import render, schema_documents

ROOT = Path(__file__).resolve().parents[3]
COMMITTED = ROOT / "docs" / "schemas"


def test_committed_schemas_match_the_models() -> None:
    documents = schema_documents()
    committed = {path.name for path in COMMITTED.glob("*.schema.json")}
    assert committed == set(documents), "run `make schemas` and commit docs/schemas"
    for name, document in documents.items():
        assert (COMMITTED / name).read_text(encoding="utf-8") == render(document), (
            f"{name} drifted from the model: run `make schemas`"
        )


def test_every_schema_is_a_valid_draft_2020_12_schema() -> None:
    for document in schema_documents().values():
        jsonschema.Draft202012Validator.check_schema(document)
