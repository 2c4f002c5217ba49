"""The gateway's OpenAPI document: the error statuses it really answers, with OpenAI's error body.

FastAPI declares a 422 with its own validation body on every operation; this gateway answers validation errors
with a 400 and OpenAI's `{"error": {...}}`, and any /v1 operation may also answer the statuses below.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse

from services.gateway.auth import current_principal
from services.gateway.schemas.common import ErrorResponse

# Every /v1 operation: bad input, missing key, missing scope, unknown or foreign id, a conflict, a body over the
# limit, a backend down or restarting.
ERRORS = {
    "400": "Invalid request: `error.param` names the field",
    "401": "Missing or unknown API key",
    "403": "The key may not do this",
    "404": "No such resource for this key's owner",
    "409": "Conflicts with the resource's state",
    "413": "The body or upload is larger than the limit",
    "503": "A backend is unavailable; retry after `Retry-After` seconds",
}


def install_openapi(app: FastAPI, *, public: bool) -> None:
    """Replace FastAPI's generated 422s by the error statuses and body the gateway really answers.

    Unless `public`, the document is served only to a request with a valid key (of any scope).
    """

    def openapi() -> dict[str, Any]:  # open data: an OpenAPI document
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        schemas.update(ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}").pop("$defs", {}))
        schemas["ErrorResponse"] = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}}
        for path, operations in spec.get("paths", {}).items():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                responses.pop("422", None)
                statuses = ERRORS if path.startswith("/v1/") else {"400": ERRORS["400"]}
                for status, description in statuses.items():
                    responses.setdefault(status, {"description": description, **error})
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
    if not public:

        @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(current_principal)])
        def keyed_openapi() -> JSONResponse:
            return JSONResponse(app.openapi())
