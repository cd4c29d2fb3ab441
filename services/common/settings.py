"""Settings base: pydantic-settings, one env prefix per service, unsafe defaults refused outside development."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.cpus import available_cpus

# One secret for all four services (a Kubernetes Secret / compose env), so it has one name everywhere.
SERVICE_TOKEN_ENV = "NINJARAG_SERVICE_TOKEN"
MIN_SECRET_CHARS = 32


def default_cpu_threads() -> int:
    """A share of the cores, never all of them: several services share one machine.

    On 2 cores with another process busy, torch's default thread count made one query
    encode take 568 ms against 16 ms with one thread.
    """
    return max(1, available_cpus() // 4)


class ServiceSettings(BaseSettings):
    """Fields every service has. Subclasses set `model_config` with their env prefix."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    environment: Literal["development", "test", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Timeout for one outbound HTTP call, seconds.
    http_timeout_s: float = Field(default=30.0, gt=0)
    # Service-to-service credential: the retriever, generator and guard require it on every route but
    # health and metrics; the gateway sends it. Unset only in development (then nothing is required).
    service_token: SecretStr | None = Field(default=None, validation_alias=AliasChoices(SERVICE_TOKEN_ENV))
    # Request limits, enforced before a body is parsed. The gateway's public API takes small bodies;
    # the internal services take passages (up to 100 of 20,000 characters): they raise the default.
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=64 * 1024 * 1024)
    max_json_depth: int = Field(default=16, ge=2, le=256)
    body_timeout_s: float = Field(default=10.0, gt=0, description="A body that takes longer to arrive gets 408.")
    # Serve /metrics on its own port too (Kubernetes: monitoring may reach only that port).
    metrics_port: int | None = Field(default=None, ge=1, le=65535)

    @property
    def public_docs(self) -> bool:
        """/docs and /openapi.json: off in production, where they only help an attacker map the API."""
        return self.environment != "production"

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> ServiceSettings:
        if self.environment == "production":
            problems = self.unsafe_for_production()
            if problems:
                raise ValueError("unsafe settings for production: " + "; ".join(problems))
        return self

    def unsafe_for_production(self) -> list[str]:
        """Reasons these settings must not run in production; subclasses add their own."""
        return secret_problems(SERVICE_TOKEN_ENV, self.service_token)


PASSAGES_BODY_BYTES = 4 * 1024 * 1024  # 100 passages of 20,000 characters, UTF-8, with room to spare


class ComputeSettings(ServiceSettings):
    """Settings of a service that runs torch or vLLM on the CPU (the internal services, which take passages)."""

    max_body_bytes: int = Field(default=PASSAGES_BODY_BYTES, ge=1024, le=64 * 1024 * 1024)

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


def secret_problems(name: str, value: SecretStr | str | None) -> list[str]:
    """Why a secret is unfit for production: missing, short, or an example's placeholder."""
    secret = value.get_secret_value() if isinstance(value, SecretStr) else value
    if not secret:
        return [f"{name} is not set; set a random secret, e.g. `openssl rand -hex 32`"]
    if len(secret) < MIN_SECRET_CHARS:
        return [f"{name} is shorter than {MIN_SECRET_CHARS} characters; use e.g. `openssl rand -hex 32`"]
    if "change" in secret.lower() or len(set(secret)) < 8:
        return [f"{name} is a placeholder; set a random secret, e.g. `openssl rand -hex 32`"]
    return []
