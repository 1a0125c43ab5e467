"""JSON Schemas of the event payloads and commands, generated from the models.

`python -m koppel.schemas [docs/schemas]` writes one file per model; a unit test fails
when the committed files drift from what the models generate.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from koppel.contract import AssignmentClose, ResponseCommand
from koppel.contract.common import ContractModel
from koppel.event_types import PAYLOADS

DEFAULT_DIRECTORY = Path("docs/schemas")


def schema_documents() -> dict[str, dict[str, Any]]:
    """File name → JSON Schema, for every event payload and HTTP command body."""
    models: dict[str, type[ContractModel]] = {
        event_type.value: model for event_type, model in PAYLOADS.items()
    }
    models["nl.koppel.assignment.close-command"] = AssignmentClose
    models["nl.koppel.match.response-command"] = ResponseCommand
    documents = {}
    for name, model in sorted(models.items()):
        schema = model.model_json_schema(mode="validation")
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://koppel.nl/schemas/{name}.schema.json"
        documents[f"{name}.schema.json"] = schema
    return documents


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description="Write the payload JSON Schemas.")
    parser.add_argument("directory", nargs="?", type=Path, default=DEFAULT_DIRECTORY)
    directory: Path = parser.parse_args().directory
    directory.mkdir(parents=True, exist_ok=True)
    for file_name, document in schema_documents().items():
        (directory / file_name).write_text(render(document), encoding="utf-8")
    print(f"wrote {len(schema_documents())} schemas to {directory}")


if __name__ == "__main__":
    main()
