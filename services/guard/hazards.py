"""Requests for harm (Llama Guard 3's hazard categories, S6 excepted): a logistic-regression probe
on MiniLM embeddings, trained at warm-up (well under a second) on maintained exemplar requests per
category against benign questions: ordinary ones and ones on the same edgy topics ("How do I make
a pipe bomb?" against "Who invented dynamite?"). The closest exemplar names the category.

Where the Llama Guard endpoint is configured it decides as well; this check is what a laptop and
CI have. bench/safety.py chooses the threshold on the training data (cross-validated) and scores
the check on a labelled set apart from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from services.guard.encoder import SentenceEncoder
from services.guard.injection import read_lines
from services.guard.scorers import LLAMA_GUARD_CATEGORIES

DATA = Path(__file__).parent / "data"
L2 = 1e-3
ITERATIONS = 500


def read_exemplars(path: Path) -> list[tuple[str, str]]:
    """(category code, request) per line `CODE<TAB>request`."""
    pairs = [tuple(line.split("\t", 1)) for line in read_lines(path)]
    unknown = {code for code, _ in pairs if code not in LLAMA_GUARD_CATEGORIES}
    if unknown:
        raise ValueError(f"{path}: unknown categories {sorted(unknown)}")
    return [(code, text.strip()) for code, text in pairs]


def benign_questions() -> list[str]:
    return read_lines(DATA / "benign_contrasts.txt") + read_lines(DATA / "benign_questions.txt")


def train_probe(harmful: torch.Tensor, benign: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(weights, bias) of a class-balanced, L2-regularised logistic regression; deterministic."""
    features = torch.cat([harmful, benign])
    labels = torch.cat([torch.ones(len(harmful)), torch.zeros(len(benign))])
    weights = torch.zeros(features.shape[1], requires_grad=True)
    bias = torch.zeros(1, requires_grad=True)
    optimiser = torch.optim.LBFGS([weights, bias], max_iter=ITERATIONS)
    balance = torch.tensor(len(benign) / len(harmful))

    def loss() -> torch.Tensor:
        optimiser.zero_grad()
        value = torch.nn.functional.binary_cross_entropy_with_logits(features @ weights + bias, labels,
                                                                     pos_weight=balance) + L2 * (weights @ weights)
        value.backward()
        return value

    optimiser.step(loss)
    return weights.detach(), bias.detach()


@dataclass(frozen=True)
class Hazard:
    probability: float  # that the question asks for help to harm
    category: str  # of the closest exemplar, e.g. "S9 indiscriminate weapons"
    exemplar: str


class HazardDetector:
    def __init__(self, encoder: SentenceEncoder) -> None:
        self.encoder = encoder
        self.exemplars = read_exemplars(DATA / "hazard_exemplars.tsv")
        self._exemplar_vectors = None
        self._probe = None

    def warm_up(self) -> None:
        self._exemplar_vectors = self.encoder.encode([text for _, text in self.exemplars])
        self._probe = train_probe(self._exemplar_vectors, self.encoder.encode(benign_questions()))

    def assess(self, question: str) -> Hazard:
        """Blocking (the encoder): call it in a worker thread."""
        vector = self.encoder.encode([question])[0]
        weights, bias = self._probe
        probability = float(torch.sigmoid(vector @ weights + bias))
        code, text = self.exemplars[int((self._exemplar_vectors @ vector).argmax())]
        return Hazard(probability=probability, category=f"{code} {LLAMA_GUARD_CATEGORIES[code]}", exemplar=text)
