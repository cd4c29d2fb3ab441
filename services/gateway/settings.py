from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from services.common.contracts.collections import NAME_PATTERN
from services.common.contracts.vocabulary import SearchMode
from services.common.cpus import available_cpus
from services.common.settings import ServiceSettings, secret_problems
from services.gateway.policy import AnswerPolicySettings
from services.gateway.variants import VariantSettings, check_variants

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
    rate_limit_when_redis_down: Literal["open", "closed"] = "open"
    # Requests this process serves at once; beyond it: 503 + Retry-After instead of queueing.
    # Follows the CPUs this process may use (a pod's CPU limit), not the node's.
    max_concurrent: int = Field(default_factory=lambda: 4 * available_cpus(), ge=1)
    # What one key may take, so that no key starves the others (a key's own values win when set).
    max_top_k: int = Field(default=20, ge=1, le=100)
    max_answer_tokens: int = Field(default=512, ge=1, le=4096)
    streams_per_key: int = Field(default=4, ge=1, description="Answers one key may have in progress at once.")
    tokens_per_minute_per_key: int = Field(default=20_000, ge=1, description="Prompt + completion tokens.")
    # Clients that stop reading a stream are cut off after this long instead of holding a slot.
    send_timeout_s: float = Field(default=30.0, gt=0)
    # How long the index/model version lookup may take before the last known values are used.
    versions_timeout_s: float = Field(default=2.0, gt=0)
    cache_ttl_s: int = Field(default=3600, ge=0, description="0 turns the answer cache off.")
    search_mode: SearchMode = "hybrid"
    # The collection answers come from when a request names none (each key must be allowed to read it).
    default_collection: str = Field(default="demo", pattern=NAME_PATTERN)
    # Document uploads (POST /v1/collections/NAME/documents): the whole request, all files together.
    max_upload_bytes: int = Field(default=64 * 1024 * 1024, ge=1024, le=1024 * 1024 * 1024)
    # How the generator packs passages into the prompt (services/generator/packing.py): `latency`
    # halves the prompt on the demo corpus (766 vs 1,475 tokens), and the prefill is most of an
    # answer's CPU time on small machines. The default model was fine-tuned on `latency` prompts.
    packing: Literal["quality", "latency"] = "latency"
    # Lets a request send `guard: false` (evaluation baselines); answers then go out unchecked.
    allow_unguarded: bool = False
    # Deadlines, seconds: per stage and for the whole request.
    guard_timeout_s: float = Field(default=5.0, gt=0)
    # Screening embeds every sentence of passages not seen before: seconds on a small busy CPU (4 cold
    # answers at once took over 5 s on 2 AVX2 cores), so it has a budget of its own.
    screen_timeout_s: float = Field(default=20.0, gt=0)
    search_timeout_s: float = Field(default=10.0, gt=0)
    generate_timeout_s: float = Field(default=120.0, gt=0)
    request_deadline_s: float = Field(default=180.0, gt=0)
    # Generator variants (JSON: [{name, generator_url, weight, shadow, sample}]); empty: GATEWAY_GENERATOR_URL
    # alone. Callers stick to the variant their key hashes to (variants.py).
    variants: list[VariantSettings] = Field(default_factory=list)
    # Shadow copies waiting or running at once; beyond it a copy is skipped (counted), never queued.
    max_pending_shadows: int = Field(default=2, ge=1, le=64)
    # A shadow copy runs only while no live answer is in progress and stops when one arrives (shared
    # CPUs); false where the shadow variant has hardware of its own.
    shadow_yields_to_live: bool = True
    # What is released, corrected or refused: one settings class, ANSWER_POLICY_* (policy.py).
    policy: AnswerPolicySettings = Field(default_factory=AnswerPolicySettings)

    @field_validator("variants")
    @classmethod
    def _variants_make_sense(cls, variants: list[VariantSettings]) -> list[VariantSettings]:
        return check_variants(variants)

    def unsafe_for_production(self) -> list[str]:
        problems = []
        if self.allow_unguarded:
            problems.append("GATEWAY_ALLOW_UNGUARDED lets clients skip the guard; run evaluations on a non-production stack")
        if self.api_key_pepper == DEV_PEPPER:
            problems.append("GATEWAY_API_KEY_PEPPER is the development default; set a secret value")
        else:
            problems += secret_problems("GATEWAY_API_KEY_PEPPER", self.api_key_pepper)
        if self.rate_limit_when_redis_down == "open":
            problems.append("GATEWAY_RATE_LIMIT_WHEN_REDIS_DOWN=open lets any valid key past its limits while Redis "
                            "is down; set closed")
        return problems + super().unsafe_for_production()
