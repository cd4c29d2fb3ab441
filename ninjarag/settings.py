"""Settings of the command line and the local stack (env prefix NINJARAG_)."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ninjarag.stack_secrets import StackSecrets
from services.common.paths import Home


class StackSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NINJARAG_", extra="ignore")

    home: Path = Field(default_factory=lambda: Home.from_env().root)
    # Where `up` keeps the supervisor config, pid, socket and logs; default <home>/run.
    run_dir: Path | None = None
    host: str = "127.0.0.1"
    gateway_port: int = Field(default=8000, ge=1, le=65535)
    retriever_port: int = Field(default=8001, ge=1, le=65535)
    generator_port: int = Field(default=8002, ge=1, le=65535)
    guard_port: int = Field(default=8003, ge=1, le=65535)
    redis_port: int = Field(default=6379, ge=1, le=65535)
    ready_timeout_s: float = Field(default=600.0, gt=0)
    # Models served beside the first, each with its own generator and gateway (ports + the offset,
    # + twice the offset, ...) for side-by-side evaluations: model folder names under <home>/models,
    # comma-separated (at most 3), e.g. smollm2-135m-nq-v1.
    compare_model: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}(,[A-Za-z0-9][A-Za-z0-9._-]{0,99}){0,2}$")
    compare_port_offset: int = Field(default=10, ge=1, le=1000)
    # How the comparison gateways pack passages, when it differs from the first (a fine-tune
    # trained on the latency packing is served with it): GATEWAY_PACKING for the other gateways.
    compare_packing: Literal["quality", "latency"] | None = None
    # The key `ask` sends as `Authorization: Bearer`.
    api_key: str | None = None

    @property
    def compare_models(self) -> list[str]:
        return self.compare_model.split(",") if self.compare_model else []

    @property
    def paths(self) -> Home:
        return Home(self.home.resolve())

    @property
    def run_path(self) -> Path:
        return (self.run_dir or self.paths.run).resolve()

    @property
    def gateway_url(self) -> str:
        return f"http://{self.host}:{self.gateway_port}"

    @cached_property
    def secrets(self) -> StackSecrets:
        """Read (or made) once per settings object: the stack and its callers use it often."""
        return StackSecrets.load_or_create(self.run_path)

    @property
    def redis_url(self) -> str:
        """The stack's Redis with its password (GATEWAY_REDIS_URL wins, as for the gateway)."""
        return os.environ.get("GATEWAY_REDIS_URL") or (
            f"redis://:{self.secrets.redis_password}@{self.host}:{self.redis_port}/0")
