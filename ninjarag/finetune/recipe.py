"""The fine-tuning recipe: one TOML file with the data mix, the prompt shape and the training run."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

RECIPES_DIR = Path(__file__).parent / "recipes"
DEFAULT_RECIPE = RECIPES_DIR / "smollm2-135m.toml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataRecipe(_Strict):
    retrieval: str = "hybrid"
    top_k: int = Field(default=10, ge=1, le=100)
    # The prompt as served: the generator's own context packer with its default settings and this
    # policy, for answers of at most `max_tokens`. None: the first passages_per_example passages,
    # each cut to max_passage_tokens (the first recipe's shape).
    packing: Literal["quality", "latency"] | None = None
    max_tokens: int = Field(default=64, ge=1)
    passages_per_example: int = Field(default=4, ge=1, le=20)
    max_passage_tokens: int = Field(default=112, ge=16)
    max_answer_words: int = Field(default=40, ge=5)
    # What an answer target is: "sentence" copies the passage sentence that holds the answer;
    # "span" states only the answer as the passage spells it ("Mariah Carey [1]."), so the loss
    # falls on choosing the answer, not on copying fluent text around it.
    answer: Literal["sentence", "span"] = "sentence"
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


class NeuronRecipe(_Strict):
    """The production run: optimum-neuron's NeuronSFTTrainer under torchrun on one Trainium instance
    (ninjarag/finetune/neuron_train.py, k8s/overlays/trn1-finetune)."""
    instance_type: str
    neuron_cores: int = Field(ge=1, description="NeuronCores of the instance: one training process each.")
    tensor_parallel_size: int = Field(ge=1)
    pipeline_parallel_size: int = Field(default=1, ge=1)
    max_length: int = Field(ge=128, description="Tokens per packed training sequence.")
    per_device_batch_size: int = Field(default=1, ge=1)
    learning_rate: float = Field(gt=0)
    epochs: int = Field(ge=1)
    warmup_steps: int = Field(ge=0)

    @model_validator(mode="after")
    def _parallelism_fits_the_instance(self) -> NeuronRecipe:
        model_parallel = self.tensor_parallel_size * self.pipeline_parallel_size
        if self.neuron_cores % model_parallel:
            raise ValueError(f"tensor x pipeline parallel ({model_parallel}) must divide the {self.neuron_cores} "
                             "NeuronCores: the rest is data parallel")
        return self

    @property
    def data_parallel_size(self) -> int:
        return self.neuron_cores // (self.tensor_parallel_size * self.pipeline_parallel_size)


class Recipe(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{0,63}$")
    base_model: str
    prompt_template: str
    seed: int
    data: DataRecipe
    train: TrainRecipe
    neuron: NeuronRecipe | None = None
    sha256: str = ""

    @classmethod
    def load(cls, path: Path) -> Recipe:
        raw = path.read_bytes()
        return cls.model_validate({**tomllib.loads(raw.decode()), "sha256": hashlib.sha256(raw).hexdigest()})
