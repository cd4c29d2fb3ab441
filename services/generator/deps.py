"""The generator's request dependencies: the serving class, once its engine answered a generation."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.generator.serving import GenerationService


def ready_generator(request: Request) -> GenerationService:
    request.app.state.readiness.require("generator")
    return request.app.state.generator


Generator = Annotated[GenerationService, Depends(ready_generator)]
