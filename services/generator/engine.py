"""The engine interface the generator serves through, whatever runs the model."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Sampling:
    max_tokens: int
    temperature: float
    seed: int | None = None
    repetition_penalty: float = 1.0


@dataclass(frozen=True)
class Delta:
    """New text since the last delta; `finish_reason` set on the last one."""

    text: str
    completion_tokens: int  # cumulative
    finish_reason: str | None = None


class Engine(Protocol):
    model_name: str

    async def start(self) -> None: ...

    def stream(self, request_id: str, prompt_token_ids: list[int], sampling: Sampling) -> AsyncIterator[Delta]:
        """Tokens as they are generated. Closing the iterator early aborts the request in the engine."""
        ...

    def unfinished_requests(self) -> int:
        """Requests the engine is still working on (aborted ones leave at once)."""
        ...

    async def shutdown(self) -> None: ...
