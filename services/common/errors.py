"""Typed errors, mapped once to problem+json (RFC 9457) responses with a stable `type`."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Scope, Send

from services.common.contracts.problem import Problem, ValidationIssue
from services.common.request_context import current_request_id

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"


class LoadFailed(RuntimeError):
    """A warm-up failure whose message already says what to fix (a missing index, a broken model
    folder): /readyz reports it as is, and the log carries no traceback."""


class NinjaragError(Exception):
    """Base of every error a service raises on purpose. `type` is the stable contract."""

    type: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal error"
    status: ClassVar[int] = 500

    def __init__(self, detail: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after_s = retry_after_s

    def to_problem(self, instance: str | None = None) -> Problem:
        return Problem(
            type=self.type,
            title=self.title,
            status=self.status,
            detail=self.detail,
            instance=instance,
            request_id=current_request_id(),
        )


class InvalidRequest(NinjaragError):
    type, title, status = "invalid_request", "Invalid request", 422


class Unauthorized(NinjaragError):
    type, title, status = "unauthorized", "Missing or invalid credentials", 401


class Forbidden(NinjaragError):
    type, title, status = "forbidden", "Not allowed on this server", 403


class NotFound(NinjaragError):
    type, title, status = "not_found", "Not found", 404


class UnknownPassageSet(NinjaragError):
    """The guard no longer holds a passage set (restarted, evicted, another replica): send the passages."""
    type, title, status = "unknown_passage_set", "Passage set not known here", 409


class RequestTimeout(NinjaragError):
    type, title, status = "request_timeout", "The request body did not arrive in time", 408


class PayloadTooLarge(NinjaragError):
    type, title, status = "payload_too_large", "The request body is too large", 413


class RateLimited(NinjaragError):
    type, title, status = "rate_limited", "Rate limit exceeded", 429


class Overloaded(NinjaragError):
    type, title, status = "overloaded", "Server is at capacity", 503


class NotReady(NinjaragError):
    type, title, status = "not_ready", "Service is not ready", 503


class UpstreamError(NinjaragError):
    type, title, status = "upstream_error", "A downstream service failed", 502


class UpstreamTimeout(NinjaragError):
    type, title, status = "upstream_timeout", "A downstream service timed out", 504


class DeadlineExceeded(NinjaragError):
    type, title, status = "deadline_exceeded", "No answer within the deadline", 504


# Collections (the retriever owns them; the gateway relays these to API keys as they are).
class CollectionNotFound(NotFound):
    type, title = "collection_not_found", "No such collection"


class JobNotFound(NotFound):
    type, title = "job_not_found", "No such ingestion job"


class CollectionExists(NinjaragError):
    type, title, status = "collection_exists", "The collection exists already", 409


class ReadOnlyCollection(NinjaragError):
    type, title, status = "read_only_collection", "The collection is read-only", 409


class TooManyCollections(NinjaragError):
    type, title, status = "too_many_collections", "This retriever holds as many collections as it may", 409


_BY_TYPE = {cls.type: cls for cls in (InvalidRequest, Unauthorized, Forbidden, NotFound, UnknownPassageSet, RequestTimeout,
                                      PayloadTooLarge, RateLimited, Overloaded, NotReady, UpstreamError, UpstreamTimeout,
                                      DeadlineExceeded, CollectionNotFound, JobNotFound, CollectionExists,
                                      ReadOnlyCollection, TooManyCollections)}


def error_for(error_type: str, detail: str) -> NinjaragError:
    """The typed error for a stable `type`; unknown types keep their name with status 500."""
    cls = _BY_TYPE.get(error_type)
    if cls is not None:
        return cls(detail)
    error = NinjaragError(detail)
    error.type = error_type
    return error


_HTTP_STATUS_TYPES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def _problem_response_doc(description: str) -> dict:
    return {"description": description,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def problem_schemas() -> dict[str, dict]:
    """Problem and what it refers to, as OpenAPI components (PROBLEM_RESPONSES refer to them)."""
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    return {"Problem": {k: v for k, v in schema.items() if k != "$defs"}, **schema.get("$defs", {})}


# Every route can answer these (limits, authentication, load, upstream faults): documented once for
# all of them, as problem+json, so that clients and schema-driven tools know what to expect.
PROBLEM_RESPONSES: dict[int | str, dict] = {
    status: _problem_response_doc(description) for status, description in {
        400: "The body is not well-formed JSON.",
        401: "Missing or invalid credentials (API key or service token).",
        403: "Not allowed here (admin routes off, unguarded answers refused).",
        404: "Not found.",
        408: "The request body did not arrive in time.",
        413: "The request body is too large.",
        422: "Invalid request: the errors name each field.",
        429: "Rate, token or stream limit reached; see Retry-After.",
        500: "Unexpected error; see the service log.",
        502: "A downstream service failed.",
        503: "Overloaded or not ready; see Retry-After.",
        504: "A downstream service or the deadline timed out.",
    }.items()
}


def problem_response(problem: Problem, retry_after_s: float | None = None,
                     headers: dict[str, str] | None = None) -> JSONResponse:
    headers = dict(headers or {})
    if retry_after_s is not None:
        headers["Retry-After"] = str(max(1, round(retry_after_s)))
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


async def send_problem(scope: Scope, receive: Receive, send: Send, error: NinjaragError) -> None:
    """A typed error answered from ASGI middleware, before any route ran."""
    await problem_response(error.to_problem(scope["path"]), error.retry_after_s)(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """The one place where exceptions become HTTP responses."""

    @app.exception_handler(NinjaragError)
    async def _typed(request: Request, exc: NinjaragError) -> JSONResponse:
        if exc.status >= 500:
            log.warning("request failed: %s: %s", exc.type, exc.detail)
        return problem_response(exc.to_problem(request.url.path), exc.retry_after_s)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        issues = [ValidationIssue.from_pydantic(err) for err in exc.errors()]
        detail = "; ".join(f"{issue.field}: {issue.message}" for issue in issues)
        problem = InvalidRequest(detail).to_problem(request.url.path)
        problem.errors = issues
        return problem_response(problem)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        problem = Problem(
            type=_HTTP_STATUS_TYPES.get(exc.status_code, "http_error"),
            title=str(exc.detail),
            status=exc.status_code,
            detail=f"{request.method} {request.url.path}: {exc.detail}",
            instance=request.url.path,
            request_id=current_request_id(),
        )
        return problem_response(problem, headers=exc.headers)  # e.g. Allow on a 405

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return problem_response(NinjaragError("unexpected error; see the service log").to_problem(request.url.path))


def problem_from_response(upstream: str, status: int, body: Any) -> NinjaragError:
    """Rebuild a typed error from a downstream problem+json body (for the HTTP client)."""
    detail = body.get("detail") if isinstance(body, dict) else None
    error_type = body.get("type") if isinstance(body, dict) else None
    # A downstream's own failures are the caller's upstream errors; its client-side verdicts keep their type.
    if error_type in _BY_TYPE and error_type not in {UpstreamError.type, DeadlineExceeded.type}:
        return _BY_TYPE[error_type](f"{upstream}: {detail or _BY_TYPE[error_type].title}")
    return UpstreamError(f"{upstream} answered {status}: {detail or body!r}"[:500])
