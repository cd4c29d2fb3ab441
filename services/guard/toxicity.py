"""Toxicity score of a text from the linear model that ships in alt-profanity-check: a TF-IDF
vectorizer and five sigmoid-calibrated linear SVMs whose probabilities are averaged (scikit-learn's
CalibratedClassifierCV).

The library's `predict_prob` validates its input and dispatches once per calibrated model: 2.6 ms
a call, while holding the GIL that the encoder's thread needs. The same arithmetic on the fitted
arrays is one sparse product (tests/guard/test_toxicity.py checks it equals the library's output).
"""

from __future__ import annotations

import numpy as np


class ToxicityScorer:
    def __init__(self) -> None:
        self._vectorizer = None

    def warm_up(self) -> str:
        from profanity_check import profanity_check as package

        calibrated = package.model.calibrated_classifiers_
        if package.model.method != "sigmoid" or any(len(c.calibrators) != 1 for c in calibrated):
            raise RuntimeError("alt-profanity-check's model is no longer binary with sigmoid calibration")
        self._weights = np.stack([c.estimator.coef_[0] for c in calibrated], axis=1)  # [features, models]
        self._intercepts = np.array([c.estimator.intercept_[0] for c in calibrated])
        self._slopes = np.array([c.calibrators[0].a_ for c in calibrated])
        self._offsets = np.array([c.calibrators[0].b_ for c in calibrated])
        self._vectorizer = package.vectorizer
        self.score("warm-up")
        return "alt-profanity-check"

    def score(self, text: str) -> float:
        """The probability that `text` is toxic."""
        return self.score_many([text])[0]

    def score_many(self, texts: list[str]) -> list[float]:
        """Per text, the mean of the calibrated models' probabilities; one sparse product for all."""
        if self._vectorizer is None:
            raise RuntimeError("ToxicityScorer.warm_up() was not called")
        if not texts:
            return []
        decisions = np.asarray(self._vectorizer.transform(texts) @ self._weights) + self._intercepts
        # scikit-learn's _SigmoidCalibration: p = 1 / (1 + exp(a * decision + b)).
        return (1.0 / (1.0 + np.exp(self._slopes * decisions + self._offsets))).mean(axis=1).tolist()
