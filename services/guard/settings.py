from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import ComputeSettings


class GuardSettings(ComputeSettings):
    model_config = SettingsConfigDict(env_prefix="GUARD_", extra="ignore")

    port: int = Field(default=8003, ge=1, le=65535)
