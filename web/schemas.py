"""JSON Schemas of the bodies and results, for /openapi.json. The routes read raw bytes and
let `jobs` validate, so errors carry the CLI's codes; these schemas document the shapes."""

from __future__ import annotations

from typing import Any

from generators import REGISTRY

ID = {"type": "string", "enum": [t.id for t in REGISTRY]}
ANY_OBJECT = {"type": "object"}

PROBLEM = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
    },
}

PART_RESULT = {
    "type": "object",
    "required": ["score", "correct", "feedback"],
    "properties": {
        "score": {"type": "number"},
        "correct": {"type": "boolean"},
        "feedback": {"type": "string"},
    },
}

GRADE_REQUEST = {
    "type": "object",
    "required": ["template", "response"],
    "properties": {
        "template": ID,
        "seed": {"type": "integer"},
        "params": ANY_OBJECT,
        "response": ANY_OBJECT,
        "tolerance": ANY_OBJECT,
        "points": ANY_OBJECT,
        "version": {"type": "integer"},
        "submission_id": {"type": ["string", "integer"]},
    },
}

GRADE_RESULT = {
    "type": "object",
    "required": ["score", "parts"],
    "properties": {
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "parts": {"type": "object", "additionalProperties": PART_RESULT},
    },
}

SOLVE_REQUEST = {
    "type": "object",
    "required": ["template"],
    "properties": {"template": ID, "seed": {"type": "integer"}, "params": ANY_OBJECT},
}

SOLVE_RESULT = {
    "type": "object",
    "required": ["template", "version", "seed", "params", "answers"],
    "properties": {
        "template": {"type": "string"},
        "version": {"type": "integer"},
        "seed": {"type": ["integer", "null"]},
        "params": ANY_OBJECT,
        "answers": ANY_OBJECT,
    },
}

VARIANTS_REQUEST = {
    "type": "object",
    "required": ["template"],
    "properties": {
        "template": ID,
        "seed": {"type": "integer"},
        "count": {"type": "integer", "minimum": 1},
        "params": ANY_OBJECT,
        "tolerance": ANY_OBJECT,
        "answers": {"type": "boolean"},
    },
}

VARIANTS_RESULT = {
    "type": "object",
    "required": ["title", "variants"],
    "properties": {
        "title": {"type": "string"},
        "variants": {"type": "array", "items": ANY_OBJECT},
    },
}

TEMPLATE = {
    "type": "object",
    "required": ["id", "version", "title", "part_kinds"],
    "properties": {
        "id": {"type": "string"},
        "version": {"type": "integer"},
        "title": {"type": "string"},
        "family": {"type": "string"},
        "part_kinds": {"type": "array", "items": {"type": "string"}},
        "misconceptions": {"type": "array", "items": {"type": "string"}},
    },
}

BATCH_ACCEPTED = {
    "type": "object",
    "required": ["id", "status"],
    "properties": {"id": {"type": "string"}, "status": {"type": "string"}},
}

BATCH_STATUS = {
    "type": "object",
    "required": ["id", "total", "done", "errors", "complete"],
    "properties": {
        "id": {"type": "string"},
        "total": {"type": "integer"},
        "done": {"type": "integer"},
        "errors": {"type": "integer"},
        "complete": {"type": "boolean"},
    },
}

REGRADE_REQUEST = {
    "type": "object",
    "properties": {
        "template": ID,
        "since": {"type": "string", "format": "date-time"},
        "tolerance": ANY_OBJECT,
        "apply": {"type": "boolean"},
    },
}

REGRADE_REPORT = {
    "type": "object",
    "required": ["checked", "changed", "applied", "changes"],
    "properties": {
        "checked": {"type": "integer"},
        "changed": {"type": "integer"},
        "applied": {"type": "boolean"},
        "changes": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["row", "template", "old_score", "new_score", "why"],
                "properties": {
                    "row": {"type": "integer"},
                    "submission_id": {"type": ["string", "null"]},
                    "batch_id": {"type": ["string", "null"]},
                    "template": {"type": "string"},
                    "old_score": {"type": ["number", "null"]},
                    "new_score": {"type": ["number", "null"]},
                    "why": {"type": "string"},
                },
            },
        },
    },
}

HEALTH = {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}}


def json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        s: {
            "description": "A problem (RFC 9457) carrying the CLI's error `code`.",
            "content": {"application/problem+json": {"schema": PROBLEM}},
        }
        for s in statuses
    }


def ok(
    schema: dict[str, Any], status: int = 200, media: str = "application/json"
) -> dict[int | str, dict[str, Any]]:
    return {status: {"description": "OK", "content": {media: {"schema": schema}}}}
