"""Generator variants: several generator endpoints behind one gateway (`GATEWAY_VARIANTS`), each with a
weight. A caller keeps the variant its API key (or its `X-Ninjarag-Sticky` header) hashes to, so one
user sees one model; `model` in a request names a variant outright. A `shadow` variant answers a
sampled copy of live requests after the live answer is done; its answer is recorded, never shown."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel, Field, model_validator

from services.common.contracts.collections import NAME_PATTERN
from services.common.errors import NotFound
from services.common.http import ServiceClient

# What `model` may also say: "route me as usual" (the name OpenAI clients send by default here).
ROUTED = "ninjarag"
STICKY_HEADER = "x-ninjarag-sticky"


class VariantSettings(BaseModel):
    name: str = Field(pattern=NAME_PATTERN)
    generator_url: str
    weight: int = Field(default=1, ge=0, le=10_000, description="Share of callers routed here; 0: only when named.")
    shadow: bool = Field(default=False, description="Answers copies of live requests; never shown to a caller.")
    sample: float = Field(default=1.0, ge=0.0, le=1.0, description="A shadow's share of live answers copied.")

    @model_validator(mode="after")
    def _shadow_takes_no_callers(self) -> VariantSettings:
        if self.shadow and self.weight:
            raise ValueError(f"variant {self.name}: a shadow variant takes no callers; set its weight to 0")
        return self


def check_variants(variants: list[VariantSettings]) -> list[VariantSettings]:
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise ValueError(f"variant names must be unique: {names}")
    if variants and not any(v.weight for v in variants if not v.shadow):
        raise ValueError("at least one live variant needs a weight above 0")
    if sum(v.shadow for v in variants) > 1:
        raise ValueError("at most one shadow variant")
    if ROUTED in names:
        raise ValueError(f"{ROUTED!r} names the routing itself; give the variant another name")
    return variants


class VariantNotFound(NotFound):
    type, title = "model_not_found", "No such model"


@dataclass(frozen=True)
class Variant:
    name: str
    client: ServiceClient
    weight: int
    shadow: bool = False
    sample: float = 0.0


def _fraction(text: str) -> float:
    """A stable number in [0, 1) for a text: the same caller always lands on the same variant."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:13], 16) / 16**13


class VariantRouter:
    def __init__(self, variants: list[Variant]) -> None:
        self.live = [v for v in variants if not v.shadow]
        self.shadow = next((v for v in variants if v.shadow), None)
        self._weighted = [v for v in self.live if v.weight]
        self._total = sum(v.weight for v in self._weighted)

    @classmethod
    def from_settings(cls, variants: list[VariantSettings], default_client: ServiceClient,
                      make_client: Callable[[str, str], ServiceClient]) -> VariantRouter:
        if not variants:  # one generator, as before variants: it is the routed model itself
            return cls([Variant(ROUTED, default_client, 1)])
        return cls([Variant(v.name, make_client(v.name, v.generator_url), v.weight, v.shadow, v.sample)
                    for v in variants])

    def pick(self, key_id: str, sticky: str | None, requested: str | None) -> Variant:
        if requested and requested != ROUTED:
            found = next((v for v in self.live if v.name == requested), None)
            if found is None:
                raise VariantNotFound(f"no model {requested[:70]!r}; GET /v1/models lists the models this key may use")
            return found
        point = _fraction(f"sticky:{sticky}" if sticky else f"key:{key_id}") * self._total
        for variant in self._weighted:
            point -= variant.weight
            if point < 0:
                return variant
        return self._weighted[-1]

    def shadow_for(self, answer_id: str) -> Variant | None:
        """The shadow variant, if this answer is in its sample (by the answer id: reproducible)."""
        if self.shadow and _fraction(f"shadow:{answer_id}") < self.shadow.sample:
            return self.shadow
        return None

    def clients(self) -> list[ServiceClient]:
        return [v.client for v in self.live] + ([self.shadow.client] if self.shadow else [])
