"""Map domain errors and request validation failures to ``{"error": {...}}`` bodies."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from manafidh.domain.errors import DomainError

STATUS = {
    "invalid": 422,
    "not_found": 404,
    "conflict": 409,
    "forbidden": 403,
    "unauthenticated": 401,
}


class ErrorDetail(BaseModel):
    """A machine-readable error."""

    code: str
    message: str
    details: dict[str, Any] = {}


class ErrorBody(BaseModel):
    """Every 4xx answer of the API has this shape."""

    error: ErrorDetail


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> JSONResponse:
    """Build an error response."""
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(DomainError)
    async def on_domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        return error_response(
            STATUS.get(exc.kind, 400), exc.code, exc.message, _jsonable(exc.details)
        )

    @app.exception_handler(RequestValidationError)
    async def on_validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {
                "loc": [str(p) for p in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": e.get("type"),
            }
            for e in exc.errors()
        ]
        malformed = any(p["type"] == "json_invalid" for p in problems)
        return error_response(
            400 if malformed else 422,
            "malformed_json" if malformed else "validation_failed",
            "the request body is not valid JSON"
            if malformed
            else "the request does not match the schema",
            {"problems": problems},
        )

    @app.exception_handler(IntegrityError)
    async def on_integrity(_request: Request, exc: IntegrityError) -> JSONResponse:
        # A unique key taken by a concurrent request (e.g. the same bank transaction twice at
        # the same instant): the transaction rolled back, nothing was stored; retrying is safe.
        return error_response(
            409, "concurrent_conflict", "a concurrent request changed the same record; retry"
        )

    @app.exception_handler(OperationalError)
    async def on_operational(_request: Request, exc: OperationalError) -> JSONResponse:
        return error_response(
            503, "database_unavailable", "the database is busy or unreachable; retry"
        )

    @app.exception_handler(StarletteHTTPException)
    async def on_http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated"}.get(
            exc.status_code, "http_error"
        )
        return error_response(exc.status_code, code, str(exc.detail))


def _jsonable(details: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v if isinstance(v, (str, int, float, bool, list, type(None))) else str(v)
        for k, v in details.items()
    }


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Malformed request (e.g. invalid JSON)"},
    401: {"model": ErrorBody, "description": "Missing or invalid credentials"},
    403: {"model": ErrorBody, "description": "Role or crossing does not allow this"},
    404: {"model": ErrorBody, "description": "No such record"},
    409: {"model": ErrorBody, "description": "Not allowed in the record's current state"},
    422: {"model": ErrorBody, "description": "Input breaks a rule"},
}
