"""Settings base: pydantic-settings, one env prefix per service, unsafe defaults refused outside development."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_cpu_threads() -> int:
    """A share of the cores, never all of them: several services share one machine.

    On 2 cores with another process busy, torch's default thread count made one query
    encode take 568 ms against 16 ms with one thread.
    """
    return max(1, (os.cpu_count() or 1) // 4)


class ServiceSettings(BaseSettings):
    """Fields every service has. Subclasses set `model_config` with their env prefix."""

    model_config = SettingsConfigDict(extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Timeout for one outbound HTTP call, seconds.
    http_timeout_s: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> ServiceSettings:
        if self.environment == "production":
            problems = self.unsafe_for_production()
            if problems:
                raise ValueError("unsafe settings for production: " + "; ".join(problems))
        return self

    def unsafe_for_production(self) -> list[str]:
        """Reasons these settings must not run in production; subclasses add their own."""
        return []


class ComputeSettings(ServiceSettings):
    """Settings of a service that runs torch or vLLM on the CPU."""

    cpu_threads: int = Field(default_factory=default_cpu_threads, ge=1)

    def apply_cpu_threads(self) -> None:
        """Bound torch / OpenMP threads before the first model loads."""
        os.environ.setdefault("OMP_NUM_THREADS", str(self.cpu_threads))
        os.environ.setdefault("MKL_NUM_THREADS", str(self.cpu_threads))
        try:
            import torch
        except ImportError:
            return
        torch.set_num_threads(self.cpu_threads)
