"""The fine-tuning recipe: one TOML file with the data mix, the prompt shape and the training run."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

RECIPES_DIR = Path(__file__).parent / "recipes"
DEFAULT_RECIPE = RECIPES_DIR / "smollm2-135m.toml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataRecipe(_Strict):
    retrieval: str = "hybrid"
    top_k: int = Field(default=10, ge=1, le=100)
    passages_per_example: int = Field(default=4, ge=1, le=20)
    max_passage_tokens: int = Field(default=112, ge=16)
    max_answer_words: int = Field(default=40, ge=5)
    nq_answerable: int = Field(ge=0)
    nq_refusal: int = Field(ge=0)
    boolq: int = Field(ge=0)
    quac: int = Field(ge=0)
    unsafe: int = Field(ge=0)


class TrainRecipe(_Strict):
    lora_r: int = Field(ge=1)
    lora_alpha: int = Field(ge=1)
    lora_dropout: float = Field(ge=0, lt=1)
    target_modules: list[str]
    learning_rate: float = Field(gt=0)
    warmup_steps: int = Field(ge=0)
    epochs: int = Field(ge=1)
    grad_accumulation: int = Field(ge=1)
    checkpoint_every: int = Field(ge=1)
    threads: int = Field(ge=1)


class Recipe(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{0,63}$")
    base_model: str
    prompt_template: str
    seed: int
    data: DataRecipe
    train: TrainRecipe
    sha256: str = ""

    @classmethod
    def load(cls, path: Path) -> Recipe:
        raw = path.read_bytes()
        return cls.model_validate({**tomllib.loads(raw.decode()), "sha256": hashlib.sha256(raw).hexdigest()})
