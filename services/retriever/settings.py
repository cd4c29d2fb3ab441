from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.paths import Home
from services.common.settings import ComputeSettings


class RetrieverSettings(ComputeSettings):
    model_config = SettingsConfigDict(env_prefix="RETRIEVER_", extra="ignore")

    port: int = Field(default=8001, ge=1, le=65535)
    corpus_path: Path = Field(default_factory=lambda: Home.from_env().corpus)
