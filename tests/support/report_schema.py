"""The published JSON Schema of the ``run``/``lint`` json report (``docs/schemas``)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

REPORT_SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "schemas" / "run-report.schema.json"


def report_validator() -> jsonschema.Draft7Validator:
    """A validator for the report, the schema itself checked first."""
    schema = json.loads(REPORT_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)
