"""Toxicity score of a text from the linear model that ships in alt-profanity-check."""

from __future__ import annotations


class ToxicityScorer:
    def __init__(self) -> None:
        self._predict_prob = None

    def warm_up(self) -> str:
        from profanity_check import predict_prob

        self._predict_prob = predict_prob
        self.score("warm-up")
        return "alt-profanity-check"

    def score(self, text: str) -> float:
        if self._predict_prob is None:
            raise RuntimeError("ToxicityScorer.warm_up() was not called")
        return float(self._predict_prob([text])[0])
