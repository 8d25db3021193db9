"""The gateway's one error format: RFC 9457 problem details for every error, ours or FastAPI's."""

from __future__ import annotations

from typing import Any

import structlog
from asyncpg.exceptions import CharacterNotInRepertoireError, UntranslatableCharacterError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shopee_common.http import PROBLEM_JSON, problem

log = structlog.get_logger("gateway")

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    422: "Invalid request",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}


class ProblemError(Exception):
    """Raise anywhere in a request to answer with a problem details document.

    `extra` members are added to the body (e.g. `errors=[{"field": ..., "message": ...}]`);
    `headers` go on the response (e.g. WWW-Authenticate, Retry-After).
    """

    def __init__(
        self,
        status: int,
        detail: str,
        title: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title or TITLES.get(status, "Error")
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra

    def response(self) -> JSONResponse:
        """The problem response for this error."""
        response = problem(self.status, self.title, self.detail, **self.extra)
        response.headers.update(self.headers)
        return response


def not_found(what: str) -> ProblemError:
    """A 404 that says the same for "absent" and "someone else's", so ids leak nothing."""
    return ProblemError(404, f"{what} not found")


def field_error(field: str, message: str) -> ProblemError:
    """A 422 naming the offending field."""
    return ProblemError(422, f"{field}: {message}", errors=[{"field": field, "message": message}])


def _problem_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string", "example": "about:blank"},
            "title": {"type": "string", "example": "Forbidden"},
            "status": {"type": "integer", "example": 403},
            "detail": {"type": "string", "example": "missing permission kpis:read"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                },
            },
        },
    }


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries documenting problem answers for `statuses`."""
    return {
        status: {
            "description": TITLES.get(status, "Error"),
            "content": {PROBLEM_JSON: {"schema": _problem_schema()}},
        }
        for status in statuses
    }


def install_error_handlers(app: FastAPI) -> None:
    """Render ProblemError, HTTP errors (404/405...), validation errors and crashes as problems."""

    @app.exception_handler(ProblemError)
    async def problem_error(request: Request, exc: ProblemError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = problem(exc.status_code, TITLES.get(exc.status_code, "Error"), str(exc.detail))
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]) or "(request)", "message": e["msg"]}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem(422, TITLES[422], detail, errors=errors)

    @app.exception_handler(CharacterNotInRepertoireError)
    @app.exception_handler(UntranslatableCharacterError)
    async def unstorable_text(request: Request, exc: Exception) -> JSONResponse:
        # PostgreSQL text cannot hold NUL (and a few other code points): whichever input carried
        # one, from the query string, a form or a body, it is the caller's to fix.
        return problem(
            422,
            TITLES[422],
            "a text value contains a character PostgreSQL cannot store (such as NUL, \\u0000); "
            "remove it and retry",
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", path=request.url.path)
        return problem(500, TITLES[500], "an unexpected error occurred; it has been logged")
