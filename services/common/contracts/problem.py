"""problem+json error body (RFC 9457), as every service returns it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ValidationIssue(BaseModel):
    field: str
    message: str

    @classmethod
    def from_pydantic(cls, error: dict[str, Any]) -> ValidationIssue:
        location = [str(part) for part in error.get("loc", ()) if part != "body"]
        return cls(field=".".join(location) or "body", message=error.get("msg", "invalid"))


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[ValidationIssue] | None = None
