"""The guard's request dependencies: the serving class, once its models are loaded."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.guard.serving import GuardService


def ready_guard(request: Request) -> GuardService:
    request.app.state.readiness.require("guard")
    return request.app.state.guard


Guard = Annotated[GuardService, Depends(ready_guard)]
