from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from services.common.cpus import available_cpus
from services.common.paths import Home
from services.common.settings import ComputeSettings


class GuardSettings(ComputeSettings):
    model_config = SettingsConfigDict(env_prefix="GUARD_", extra="ignore")

    port: int = Field(default=8003, ge=1, le=65535)
    # Every core, like the generator: screening a fresh passage set is the second-largest CPU cost of
    # an answer, and it runs while the generator waits for it.
    cpu_threads: int = Field(default_factory=available_cpus, ge=1)
    encoder_path: Path = Field(default_factory=lambda: Home.from_env().encoder_model)
    max_question_chars: int = Field(default=2000, ge=1)
    # Thresholds per check.
    toxicity_threshold: float = Field(default=0.85, ge=0, le=1)
    injection_threshold: float = Field(default=0.75, ge=0, le=1, description="MiniLM similarity to a known attack.")
    passage_injection_threshold: float = Field(default=0.8, ge=0, le=1)
    # Requests for harm (hazards.py): the probe's probability at which a question is refused; chosen by
    # bench/safety.py on the training data (at most 0.5% of benign questions refused, cross-validated).
    hazard_threshold: float = Field(default=0.8, ge=0, le=1)
    # What is released is the answer policy's (services/gateway/policy.py); the guard only judges.
    # Chosen on real model sentences (bench/guard_real.py, 317 labelled): the lowest threshold with
    # unsupported-sentence recall >= 0.85 and precision >= 0.80 (at 0.5: recall 0.68).
    support_threshold: float = Field(default=0.7, ge=0, le=1)
    # Production scorers; unset: the local models.
    safety_backend: Literal["local", "llama_guard"] = "local"
    llama_guard_url: str | None = None
    llama_guard_model: str = "meta-llama/Llama-Guard-3-8B"
    support_backend: Literal["local", "nli_http"] = "local"
    nli_url: str | None = None

    @model_validator(mode="after")
    def _backends_need_urls(self) -> GuardSettings:
        if self.safety_backend == "llama_guard" and not self.llama_guard_url:
            raise ValueError("GUARD_SAFETY_BACKEND=llama_guard needs GUARD_LLAMA_GUARD_URL")
        if self.support_backend == "nli_http" and not self.nli_url:
            raise ValueError("GUARD_SUPPORT_BACKEND=nli_http needs GUARD_NLI_URL")
        return self
