"""Every status an API operation can answer is in the OpenAPI schema, with its body.

A drf-spectacular postprocessing hook adds, where the view did not declare them itself:
400 (operations with a body or query parameters: field -> messages, or ``detail``), 401 and
403 (authenticated operations), 404 (operations on one object), 429 (throttled) and 503 (the
database or Redis unreachable: ticker_project/outage.py). Bodies are ``{"detail": "..."}``.
"""

from __future__ import annotations

from typing import Any, Final

ERROR_SCHEMA: Final = "ErrorDetail"
VALIDATION_SCHEMA: Final = "ValidationErrors"

_ERROR_BODY: Final = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
_VALIDATION_BODY: Final = {
    "type": "object",
    "description": "Field name (or non_field_errors, or detail) -> what is wrong with it.",
    "additionalProperties": {},
}
_DESCRIPTIONS: Final = {
    "400": "The input is invalid.",
    "401": "No valid credentials (a token or a session) were given.",
    "403": "Authenticated, but not allowed (writes are for staff).",
    "404": "No such object.",
    "429": "Too many requests: see Retry-After.",
    "503": "The database or Redis is unreachable: see Retry-After.",
}
_METHODS: Final = ("get", "put", "patch", "post", "delete")


def _response(code: str, schema: str) -> dict[str, Any]:
    return {
        "description": _DESCRIPTIONS[code],
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


# Not throttled: probes poll it (ticker_project/health.py).
_UNTHROTTLED: Final = frozenset({"/api/health/"})


def _statuses(path: str, operation: dict[str, Any]) -> list[str]:
    parameters = operation.get("parameters", [])
    codes = []
    if "requestBody" in operation or any(p.get("in") == "query" for p in parameters):
        codes.append("400")
    if operation.get("security") != [{}] and operation.get("security") is not None:
        codes += ["401", "403"]
    # One object, or a page cursor that is not (any more) valid.
    if any(p.get("in") == "path" or p.get("name") == "cursor" for p in parameters):
        codes.append("404")
    if path not in _UNTHROTTLED:
        codes.append("429")
    return [*codes, "503"]


def add_error_responses(
    result: dict[str, Any], generator: object, request: object, public: bool
) -> dict[str, Any]:
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(ERROR_SCHEMA, _ERROR_BODY)
    schemas.setdefault(VALIDATION_SCHEMA, _VALIDATION_BODY)
    for path, path_item in result.get("paths", {}).items():
        for method in _METHODS:
            operation = path_item.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for code in _statuses(path, operation):
                body = VALIDATION_SCHEMA if code == "400" else ERROR_SCHEMA
                responses.setdefault(code, _response(code, body))
    return result
