"""GET /healthz and GET /readyz bodies, the same for every service."""

from __future__ import annotations

from pydantic import BaseModel


class Health(BaseModel):
    service: str
    status: str = "alive"


class Readiness(BaseModel):
    service: str
    ready: bool
    checks: dict[str, str]
