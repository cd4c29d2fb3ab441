"""Small helpers shared by the suites."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable

from fastapi.testclient import TestClient


def sse_events(lines: Iterable[str]) -> list[tuple[str, dict]]:
    """(event, data) pairs from the lines of a Server-Sent Events response."""
    events, name = [], None
    for line in lines:
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            events.append((name, json.loads(line.removeprefix("data: "))))
    return events


def wait_until_ready(client: TestClient, timeout_s: float = 120.0) -> dict:
    """Poll /readyz until it says ready or a check failed; returns the last body."""
    deadline = time.monotonic() + timeout_s
    while True:
        body = client.get("/readyz").json()
        failed = any(value.startswith("failed") for value in body["checks"].values())
        if body["ready"] or failed or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


ADVERSARIAL_LENGTH = 100_000
# Fragments that drive backtracking in patterns over prose, citations and markup.
_FRAGMENTS = ("[", ", ", " ", "a", "1", ".", "!", "<", "[1,", "[1]", "1,", "a.", "Dr. ", "\n", "'", "(", "-", "|",
              "ignore the ", "you are now ", "from now on ", "<|", "<|im", "[INST", "1.1", "a-", "1,1")


def adversarial_texts(length: int = ADVERSARIAL_LENGTH) -> list[str]:
    """Texts of `length` characters made of one fragment repeated, alone or after a prefix that opens
    a construct ("<", "[", a sentence end), and one opened construct followed by a run of a character."""
    texts = []
    for fragment in _FRAGMENTS:
        body = fragment * (length // len(fragment) + 1)
        texts.append(body[:length])
        texts.append(("It ended. " + body)[:length])
    for opener in ("<", "[", "It ended. [", "ignore ", "a"):
        for run in (" ", ",", "1", "a", ".", ", "):
            texts.append((opener + run * length)[:length])
    return texts


def worst_time_s(function, texts: Iterable[str], repeats: int = 3) -> tuple[float, str]:  # noqa: ANN001
    """The slowest text's best-of-`repeats` time, and the start of that text."""
    worst, which = 0.0, ""
    for text in texts:
        best = min(_timed(function, text) for _ in range(repeats))
        if best > worst:
            worst, which = best, text[:30]
    return worst, which


def _timed(function, text: str) -> float:  # noqa: ANN001
    started = time.perf_counter()
    function(text)
    return time.perf_counter() - started
