"""The passages an answer is checked against, held by the guard for the answer's lifetime: the
gateway sends them once (to /v1/guard/passages) and each per-sentence output check names the set
by its sha256 instead of resending every passage."""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict

from services.common.contracts.search import Passage


def passage_set_id(passages: list[Passage]) -> str:
    """Content-addressed: the same passages get the same id on every replica."""
    digest = hashlib.sha256()
    for passage in passages:
        for part in (passage.id, passage.title, passage.text):
            digest.update(part.encode())
            digest.update(b"\x00")
    return digest.hexdigest()


class PassageSets:
    """At most `size` sets, each for `ttl_s` after its last use (longer than any answer's deadline)."""

    def __init__(self, size: int = 2048, ttl_s: float = 600.0) -> None:
        self.size, self.ttl_s = size, ttl_s
        self._sets: OrderedDict[str, tuple[list[Passage], float]] = OrderedDict()

    def register(self, passages: list[Passage]) -> str:
        key = passage_set_id(passages)
        self._sets[key] = (passages, time.monotonic() + self.ttl_s)
        self._sets.move_to_end(key)
        while len(self._sets) > self.size:
            self._sets.popitem(last=False)
        return key

    def get(self, key: str) -> list[Passage] | None:
        entry = self._sets.get(key)
        if entry is None or entry[1] < time.monotonic():
            self._sets.pop(key, None)
            return None
        self._sets[key] = (entry[0], time.monotonic() + self.ttl_s)
        self._sets.move_to_end(key)
        return entry[0]
