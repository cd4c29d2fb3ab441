"""The configurations one evaluation compares, each a way of calling /v1/answer: retrieval mode and
guard on or off, so the effect of each part shows in one run."""

from __future__ import annotations

from dataclasses import dataclass
from ninjarag.errors import UserError
from services.common.contracts.vocabulary import RetrievalMode


@dataclass(frozen=True)
class System:
    name: str
    retrieval: RetrievalMode
    guard: bool
    description: str


SYSTEMS = {s.name: s for s in (
    System("closed-book", "none", False, "no retrieval: the model's own knowledge"),
    System("bm25", "bm25", False, "BM25 top-k, no guard"),
    System("colbert", "plaid", False, "ColBERT (PLAID) top-k, no guard"),
    System("hybrid", "hybrid", False, "ColBERT + BM25, no guard"),
    System("colbert+guard", "plaid", True, "ColBERT top-k, guarded"),
    System("hybrid+guard", "hybrid", True, "ColBERT + BM25, guarded: what the gateway serves by default"),
)}
DEFAULT_SYSTEMS = list(SYSTEMS)


def select_systems(names: list[str]) -> list[System]:
    unknown = [n for n in names if n not in SYSTEMS]
    if unknown:
        raise UserError(f"no system {', '.join(unknown)}; systems: {', '.join(SYSTEMS)}")
    return [SYSTEMS[n] for n in names]
