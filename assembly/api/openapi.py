"""The OpenAPI 3.1 document of API v1, served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

_PERSON = {
    "type": "object",
    "required": ["external_id", "given_name", "family_name"],
    "properties": {
        "external_id": {
            "type": "string",
            "maxLength": 100,
            "description": "The source's own id for the person; stable.",
        },
        "given_name": {"type": "string", "maxLength": 100},
        "family_name": {"type": "string", "maxLength": 100},
        "email": {"type": ["string", "null"], "format": "email"},
        "date_of_birth": {"type": ["string", "null"], "format": "date"},
        "postcode": {"type": ["string", "null"], "description": "A UK postcode."},
    },
}
_PROBLEM = {
    "type": "object",
    "properties": {
        "line": {"type": "integer", "description": "1-based index in 'people'"},
        "external_id": {"type": "string"},
        "reason": {"type": "string"},
    },
}
_ERROR = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
}
_RUN = {
    "type": "object",
    "properties": {
        "run_id": {"type": "integer"},
        "status": {"type": "string", "enum": ["applied"]},
        "mode": {"type": "string", "enum": ["snapshot", "delta"]},
        "effective_on": {"type": "string", "format": "date"},
        "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
        "problems": {
            "type": "array",
            "items": _PROBLEM,
            "description": "Skipped people: ineligible, conflicts, opted out.",
        },
        "replayed": {
            "type": "boolean",
            "description": "True when the Idempotency-Key was seen before.",
        },
    },
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "assembly API",
        "version": "1",
        "description": "Roster pushes for HR and patient systems. Each push is one import run "
        "applied atomically: invalid people refuse the whole push and nothing changes.",
    },
    "servers": [{"url": "/api/v1"}],
    "components": {
        "securitySchemes": {
            "serviceToken": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "A service token for one roster "
                "source (assembly roster token create).",
            }
        },
        "schemas": {"Person": _PERSON, "Problem": _PROBLEM, "Error": _ERROR, "ImportRun": _RUN},
    },
    "paths": {
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "operationId": "openapi",
                "responses": {"200": {"description": "OpenAPI document"}},
            }
        },
        "/institutions/{slug}/rosters/{source}/imports": {
            "post": {
                "summary": "Push a roster",
                "operationId": "pushRoster",
                "security": [{"serviceToken": []}],
                "parameters": [
                    {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}},
                    {
                        "name": "source",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                        "description": "The roster source's key.",
                    },
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "maxLength": 100},
                        "description": "A push repeated with the same key is applied once; the "
                        "repeat returns the first result.",
                    },
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["people"],
                                "properties": {
                                    "mode": {
                                        "type": "string",
                                        "enum": ["snapshot", "delta"],
                                        "default": "snapshot",
                                        "description": "snapshot: everyone; absent people leave. "
                                        "delta: joins and changes, and 'leavers'.",
                                    },
                                    "people": {"type": "array", "items": _PERSON},
                                    "leavers": {
                                        "type": "array",
                                        "items": {"type": "string"},
                                        "description": "Delta only: external ids who left.",
                                    },
                                    "dry_run": {"type": "boolean", "default": False},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "201": {
                        "description": "Applied",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/ImportRun"}
                            }
                        },
                    },
                    "200": {"description": "A dry run, or a replay of an idempotent push"},
                    "400": _error("The body is not a valid push"),
                    "401": _error("No valid service token (missing, expired, revoked)"),
                    "403": _error("The token is for another roster source"),
                    "404": _error("No such institution or roster source"),
                    "413": _error("The body is too large"),
                    "422": {
                        "description": "People that cannot be imported; nothing changed",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "error": {"type": "string"},
                                        "message": {"type": "string"},
                                        "problems": {"type": "array", "items": _PROBLEM},
                                    },
                                }
                            }
                        },
                    },
                },
            }
        },
    },
}
