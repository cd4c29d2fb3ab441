"""The retriever's request dependency: its serving class (each call says itself when no index is loaded)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.retriever.serving import RetrieverService


def retriever_service(request: Request) -> RetrieverService:
    return request.app.state.retriever


Retriever = Annotated[RetrieverService, Depends(retriever_service)]
