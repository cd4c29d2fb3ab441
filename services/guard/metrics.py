"""Guard metrics: what it decided, per kind of check."""

from prometheus_client import Counter

GUARD_DECISIONS = Counter("ninjarag_guard_decisions_total", "Guard decisions by check and outcome.", ["check", "outcome"])
