from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings

DEV_PEPPER = "dev-pepper-change-me"


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    port: int = Field(default=8000, ge=1, le=65535)
    redis_url: str = "redis://127.0.0.1:6379/0"
    retriever_url: str = "http://127.0.0.1:8001"
    generator_url: str = "http://127.0.0.1:8002"
    guard_url: str = "http://127.0.0.1:8003"
    # Mixed into API-key hashes so a leaked Redis dump does not reveal usable keys.
    api_key_pepper: str = DEV_PEPPER

    def unsafe_for_production(self) -> list[str]:
        if self.api_key_pepper == DEV_PEPPER:
            return ["GATEWAY_API_KEY_PEPPER is the development default; set a secret value"]
        return []
